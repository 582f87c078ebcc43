"""What a step handler sees: the instance, the actor, the input, options and ports.

A handler runs inside the transaction of its transition: whatever it writes through
`entities` commits with the new state and its audit event, or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .bulk import EntityOps
from .instances import InstanceView
from .ports import Account, Accounts, Clock, UserDirectory


def _no_progress(done: int, total: int) -> None:
    """The default progress callback: nobody is watching."""


@dataclass(slots=True)
class StepContext:
    """The world of one step handler."""

    instance: InstanceView
    actor: Account
    trigger: str
    source: str
    dest: str
    input: Mapping[str, Any]
    options: Mapping[str, Any]
    #: the instance's data, saved with the new state; replace keys, don't mutate in place
    data: dict[str, Any]
    directory: UserDirectory
    accounts: Accounts
    clock: Clock
    entities: EntityOps
    progress: Callable[[int, int], None] = field(default=_no_progress)
