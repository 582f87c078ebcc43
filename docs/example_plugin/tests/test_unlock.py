"""The plugin's own tests, on idmflow's fixtures (`idmflow_engine`: a prepared SQLite)."""

import pytest

from idmflow.engine import InputError


def _locked(engine):
    from idmflow.engine import UserQuery

    return engine.directory.search(UserQuery(state="locked", limit=1))[0].username


def test_unlock_with_approval(idmflow_engine):
    user = _locked(idmflow_engine)
    view = idmflow_engine.run("AccountsProcUnlock", actor="operator",
                              steps=[("select", {"user": user, "reason": "forgot PIN"})])
    assert view.state == "approval"
    (task,), _ = idmflow_engine.tasks(instance_id=view.id)
    idmflow_engine.decide(task.id, actor="approver", decision="approve")
    assert idmflow_engine.instance(view.id).state == "done"


def test_only_locked_accounts(idmflow_engine):
    with pytest.raises(InputError, match="not locked"):
        idmflow_engine.run("AccountsProcUnlock", actor="operator",
                           steps=[("select", {"user": "bberg1"})])
