"""The `approvals` blueprint: the approver's open requests and the Card approval form.

The engine decides who may decide (`Engine.may_decide`, the rule `Engine.decide` applies:
the role, not one's own request, not a card one holds); these pages show its answer instead
of buttons that can only fail, and carry the task's version so a double click decides once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idmflow.engine import Account, Conflict, DirectoryUser, InputError, NotAllowed, TaskView

from .access import account_or_403, require_role
from .extension import engine
from .need_to_know import check_task
from .notices import flash
from .runs import problems_of
from .step_page import CARDS_PER_PAGE, CardPage

approvals = Blueprint("approvals", __name__, url_prefix="/approvals",
                      template_folder="templates")
approvals.before_request(require_role("approver"))

CARD = "card"
TASKS_PER_PAGE = 50
OPEN = ("open", "postponed")
DECISIONS = ("approve", "reject", "postpone")
_DONE = {"approve": "Approved", "reject": "Rejected"}


@dataclass(frozen=True, slots=True)
class TaskCards(CardPage):
    """One page of a task's cards, with the directory facts an approver judges by."""

    users: dict[str, DirectoryUser] = field(default_factory=dict)


def task_cards(task: TaskView, number: int) -> TaskCards:
    number = max(1, number)
    cards, total = engine().entities(CARD, instance_id=task.instance_id,
                                     limit=CARDS_PER_PAGE, offset=(number - 1) * CARDS_PER_PAGE)
    users = engine().directory.get_many([c.subject for c in cards])
    return TaskCards(cards, total, number,
                     engine().entity_states(CARD, instance_id=task.instance_id), users)


@approvals.get("/")
def open_requests() -> str:
    """The requests waiting for the account's roles, oldest first, with a search."""
    account = account_or_403()
    text = request.args.get("q", "").strip()[:200]
    everything = request.args.get("status") == "all"
    number = max(1, request.args.get("page", 1, type=int) or 1)
    tasks, total = engine().tasks(actor=account.username, statuses=None if everything else OPEN,
                                  text=text or None, limit=number * TASKS_PER_PAGE)
    return render_template("idmflow/approvals/list.html", tasks=tasks[(number - 1) *
                                                                      TASKS_PER_PAGE:],
                           total=total, q=text, everything=everything, number=number,
                           pages=max(1, -(-total // TASKS_PER_PAGE)))


def _form(task: TaskView, account: Account, *, problems: tuple[str, ...] = (),
          status: int = 200) -> tuple[str, int]:
    number = request.args.get("page", 1, type=int) or 1
    refusal = engine().may_decide(task.id, actor=account.username)
    return render_template("idmflow/approvals/task.html", task=task,
                           cards=task_cards(task, number), refusal=refusal,
                           problems=problems, reason=request.form.get("reason", ""),
                           ticked={int(i) for i in request.form.getlist("card", type=int)}
                           ), status


@approvals.get("/<int:task_id>")
def task_form(task_id: int) -> tuple[str, int]:
    """The Card approval form: the request, its cards and the requester."""
    task, account = engine().task(task_id), account_or_403()
    check_task(account, task)
    return _form(task, account)


@approvals.post("/<int:task_id>")
def decide(task_id: int) -> tuple[str, int] | Response:
    """Approve, Reject (with a reason) or Postpone: the ticked cards, else every undecided."""
    account = account_or_403()
    task = engine().task(task_id)
    decision = request.form.get("decision", "")
    if request.form.get("version", type=int) != task.version:
        flash("This request changed meanwhile (another approver, or a second click); "
              "here it is as it stands now.")
        return redirect(url_for("approvals.task_form", task_id=task_id))
    if decision not in DECISIONS:
        return _form(task, account, problems=("Choose Approve, Reject or Postpone.",),
                     status=400)
    named = request.form.getlist("card")
    ticked = list(dict.fromkeys(request.form.getlist("card", type=int)))
    if len(ticked) != len(dict.fromkeys(named)):
        # `card=abc` must not fall back to "every undecided card"
        bad = [c for c in named if not c.strip().lstrip("-").isdigit()]
        return _form(task, account, problems=(f"Card {bad[0] if bad else named[0]!r} is not a "
                                              "card number; tick the cards shown.",), status=400)
    try:
        decided = engine().decide(task_id, actor=account.username, decision=decision,
                                  items=ticked or None, reason=request.form.get("reason"))
    except Conflict as exc:
        flash(str(exc))
        return redirect(url_for("approvals.task_form", task_id=task_id))
    except (InputError, NotAllowed) as exc:
        return _form(task, account, problems=problems_of(exc), status=400)
    if decision == "postpone":
        flash(f"Postponed request {task_id}; it stays in your list of open requests.")
    else:
        what = f"{len(ticked)} card(s)" if ticked else "every undecided card"
        flash(f"{_DONE[decision]}: {what} of request {task_id}; the request is "
              f"{'closed' if not decided.is_open else 'still open'}.")
    if decided.is_open:
        return redirect(url_for("approvals.task_form", task_id=task_id))
    return redirect(url_for("approvals.open_requests"))
