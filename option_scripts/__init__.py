"""Option scripts: sandboxed evaluation of administrators' scripts."""
