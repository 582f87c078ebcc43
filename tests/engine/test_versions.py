"""The definition's version is read: an instance goes on only under a definition that runs
the version it started with, or declares it compatible."""

from __future__ import annotations

from dataclasses import replace

import pytest

import idmflow.engine as idm
from idmflow.engine import (ProcessDefinition, Registry, Step, TaskSpec, Transition,
                            UnknownDefinitionVersion)

def _ask(ctx: idm.StepContext) -> None:
    ctx.open_task("review", title="Review", payload={})


def _decide(ctx: idm.TaskContext) -> int:
    return 1  # never done: the decision is recorded and the task stays open


V1 = ProcessDefinition(
    name="Versioned", title="Versioned", version="1",
    tasks=(TaskSpec(kind="review", decide=_decide, role="approver"),),
    steps=(Step("draft", view="draft.html"), Step("review", view="review.html"),
           Step("done", final=True)),
    transitions=(Transition("finish", "draft", "done"),
                 Transition("ask", "draft", "review", handler=_ask),
                 Transition("complete", "review", "done", automatic=True)))


def _engine(url: str, definition: ProcessDefinition) -> idm.Engine:
    registry = Registry()
    registry.add(definition)
    return idm.open(url, registry=registry)


def _started(url: str) -> int:
    old = _engine(url, V1)
    try:
        return old.start("Versioned", actor="operator").id
    finally:
        old.close()


def test_an_instance_of_a_version_no_longer_known_is_refused(demo_url: str) -> None:
    instance_id = _started(demo_url)
    new = _engine(demo_url, replace(V1, version="2"))
    try:
        with pytest.raises(UnknownDefinitionVersion) as caught:
            new.fire(instance_id, "finish", actor="operator")
        error = caught.value
        assert (error.process, error.instance_id, error.version, error.current) == (
            "Versioned", instance_id, "1", "2")
        assert isinstance(error, idm.NotAllowed)
        assert str(error) == (
            f"instance {instance_id} of 'Versioned' was started under definition version '1', "
            "and the installed 'Versioned' is version '2', which does not declare it "
            "compatible; nothing was changed. Finish it with a release that runs version "
            "'1', or, if version '2' runs such instances unchanged, add '1' to the "
            "definition's compatible_versions")
        view = new.instance(instance_id)  # reading it still works
        assert (view.state, view.version) == ("draft", 1)
        assert [e.trigger for e in new.history(instance_id=instance_id)] == ["start"]
    finally:
        new.close()


def test_a_version_declared_compatible_fires(demo_url: str) -> None:
    instance_id = _started(demo_url)
    new = _engine(demo_url, replace(V1, version="2", compatible_versions=("1",)))
    try:
        assert new.fire(instance_id, "finish", actor="operator").state == "done"
        again = new.start("Versioned", actor="operator")
        assert new.fire(again.id, "finish", actor="operator").state == "done"
    finally:
        new.close()


def test_a_task_of_an_instance_of_an_unknown_version_is_not_decided(demo_url: str) -> None:
    old = _engine(demo_url, V1)
    try:
        view = old.run("Versioned", actor="operator", steps=[("ask", {})])
        (task,), _ = old.tasks(instance_id=view.id)
    finally:
        old.close()
    new = _engine(demo_url, replace(V1, version="2"))
    try:
        with pytest.raises(UnknownDefinitionVersion, match="started under definition version"):
            new.decide(task.id, actor="approver", decision="approve")
        assert new.task(task.id).decided_by is None
    finally:
        new.close()


@pytest.mark.parametrize("changes, expected", [
    ({"compatible_versions": "1"}, "compatible_versions must be a tuple of str such as "
                                   "(\"1\",), not '1'"),
    ({"version": "2", "compatible_versions": ("1", "2")},
     "compatible_versions lists version '2', the definition's own"),
    ({"version": ""}, "version '' must be a non-empty str"),
])
def test_versions_are_checked(changes: dict[str, object], expected: str) -> None:
    with pytest.raises(idm.DefinitionError) as caught:
        idm.validate_process(replace(V1, **changes))  # type: ignore[arg-type]
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems
