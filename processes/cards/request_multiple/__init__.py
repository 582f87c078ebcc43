"""`CardsBoProcRequestMulitple`: an operator requests cards for many users at once."""

from .definition import PROCESS

__all__ = ["PROCESS"]
