"""`CardsProcRequest`: one card for one user, by an operator or in self-service."""

from .definition import PROCESS

__all__ = ["PROCESS"]
