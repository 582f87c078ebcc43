"""Alembic migrations of the idmflow schema; `idmflow init` runs them."""
