"""The card lifecycle, shared by every card process.

Eleven states from registration to expiry; `aborted`, `rejected`, `locked` and `expired`
are final. `request` leads from `registered` to `requested` (an approver decides) or straight
to `approved` (no approval step).
"""

from __future__ import annotations

from idmflow.engine import Invariant, Lifecycle, Transition

#: states in which a card counts as open: a user may not get a second one of the same type
OPEN_STATES = ("requested", "approved")

CARD = Lifecycle(
    name="card",
    states=("registered", "requested", "aborted", "approved", "rejected", "failed", "issued",
            "active", "inactive", "locked", "expired"),
    initial="registered",
    final=("aborted", "rejected", "locked", "expired"),
    transitions=(
        Transition("request", "registered", "requested"),
        Transition("request", "registered", "approved"),
        Transition("approve", "requested", "approved"),
        Transition("reject", "requested", "rejected"),
        Transition("abort", "requested", "aborted"),
        Transition("issue", "approved", "issued"),
        Transition("fail", ("approved", "failed"), "failed"),
        Transition("retry", "failed", "issued"),
        Transition("activate", "issued", "active"),
        Transition("deactivate", "active", "inactive"),
        Transition("reactivate", "inactive", "active"),
        Transition("lock", ("active", "inactive"), "locked"),
        Transition("expire", ("issued", "active", "inactive"), "expired"),
    ),
    titles={"registered": "Registered", "requested": "Requested", "aborted": "Aborted",
            "approved": "Approved", "rejected": "Rejected", "failed": "Failed",
            "issued": "Issued", "active": "Active", "inactive": "Inactive", "locked": "Locked",
            "expired": "Expired"},
    invariants=(
        Invariant("one_open", unique=("subject", "type"), states=OPEN_STATES,
                  doc="at most one open (requested or approved) card per holder and card type"),
    ),
)
