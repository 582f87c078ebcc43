"""Use cases, one folder each, registered by entry points."""
