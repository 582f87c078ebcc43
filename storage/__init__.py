"""Storage: SQLAlchemy models, migrations, database set-up and the default port adapters.

It knows nothing of processes or the console; the engine turns its SQLAlchemy errors into
idmflow errors where it calls it.
"""
