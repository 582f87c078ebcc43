"""People's interfaces: the CLI (and the web console)."""
