"""AccountsProcUnlock: an operator asks to unlock a locked directory user; an approver agrees."""

from .definition import PROCESS

__all__ = ["PROCESS"]
