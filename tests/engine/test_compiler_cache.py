"""The compiled-process cache: one machine per (definition, options), within a budget.

Each Preview compiles under new options; without a bound the console server grew by the
options' size per Preview and never gave it back.
"""

from __future__ import annotations

from idmflow.engine import compiler
from idmflow.engine.definitions import OptionSpec, ProcessDefinition, Step, Transition


def _definition() -> ProcessDefinition:
    return ProcessDefinition(
        name="CacheProbe", title="Cache probe", start_roles=("operator",),
        options=(OptionSpec("Flag", bool, False, "a step"), OptionSpec("Blob", str, "", "data")),
        steps=(Step("start"), Step("extra", enabled_by="Flag"), Step("done", final=True)),
        transitions=(Transition("go", ("start",), "done"), Transition("go", ("extra",), "done")))


def test_the_compiled_process_cache_is_bounded() -> None:
    definition = _definition()
    cache = compiler._CompiledCache(entries=8, budget_bytes=1 << 20)
    first = cache.get(definition, {"Flag": True, "Blob": "a"})
    assert cache.get(definition, {"Blob": "a", "Flag": True}) is first  # one machine per key
    assert "extra" in first.states
    for i in range(50):
        cache.get(definition, {"Flag": False, "Blob": f"preview {i}"})
    assert len(cache) == 8
    for i in range(5):
        cache.get(definition, {"Flag": False, "Blob": "x" * 300_000 + str(i)})
    assert cache.bytes <= 1 << 20
    huge = {"Flag": False, "Blob": "x" * (2 << 20)}
    assert cache.get(definition, huge).states == ("start", "done")  # used, not kept
    assert cache.bytes <= 1 << 20
