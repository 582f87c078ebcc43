"""The process as data: steps, transitions, who starts it, its option and its approval task."""

from __future__ import annotations

from pathlib import Path

from idmflow.engine import OptionSpec, ProcessDefinition, Step, TaskSpec, Transition

from . import steps

APPROVAL = "UnlockApproval"

PROCESS = ProcessDefinition(
    name="AccountsProcUnlock",
    title="Unlock account",
    category="Accounts",
    start_roles=("operator",),
    option_script="AccountsScriptOptions",
    default_script=Path(__file__).parent / "AccountsScriptOptions.py",
    options=(
        OptionSpec(APPROVAL, bool, default=True,
                   doc="An approver must agree before an account is unlocked."),
        OptionSpec("UnlockApproverRole", str, default="approver",
                   doc="The role that approves unlocks."),
    ),
    tasks=(TaskSpec(kind="approval", decide=steps.decide, role_option="UnlockApproverRole"),),
    steps=(
        Step("choose_user", title="Choose the account", view="choose_user.html"),
        Step("approval", title="Approval needed", view="approval.html", enabled_by=APPROVAL),
        Step("done", title="Unlock requested", view="done.html", final=True),
        Step("cancelled", title="Cancelled", view="done.html", final=True),
    ),
    transitions=(
        Transition("select", "choose_user", "approval", handler=steps.choose, when=APPROVAL),
        Transition("select", "choose_user", "done", handler=steps.choose, unless=APPROVAL),
        Transition("cancel", "choose_user", "cancelled"),
        Transition("complete", "approval", "done", automatic=True),
    ),
    templates=Path(__file__).parent / "templates",
)
