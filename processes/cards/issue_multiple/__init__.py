"""`CardsBoProcIssueMultiple`: an operator has many approved cards produced at once."""

from .definition import PROCESS

__all__ = ["PROCESS"]
