"""The host's own work on a big option script: the typo check and a named eval of 30,000 names.

The typo and look-alike checks run in the host, outside every sandbox limit, once per
top-level name of a script, for each named eval, console Validate and Preview. This prints
(median of the rounds):

* `check()` of 30,000 helper names against the cards options, as idmflow does it (rapidfuzz,
  confusable skeletons for the non-ASCII names), beside the floor: the same loop doing only
  the dict look-ups `check()` cannot avoid, and the ratio;
* the same names through a pure-Python Levenshtein (what the check used before), for scale;
* a whole named eval (sandbox evaluate + check) of a 30,000-name script, beside the
  sandbox's evaluate alone (the floor), and the ratio.

    python benchmarks/option_scripts.py [--rounds 5] [--names 30000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from idmflow.option_scripts import Evaluation, Limits, OptionSchema, RuleSchema, Sandbox, check
from idmflow.option_scripts.sizes import Sizes

OPTIONS = [OptionSchema(name, kind, default) for name, kind, default in (
    ("CardsBatchRequestApproval", bool, False), ("CardsRequestApproval", bool, True),
    ("CardsApproverRole", str, "approver"), ("CardsBatchMaxUsers", int, 100_000),
    ("CardsApprovalFreeTypes", list, []), ("CardsAllowSelfApproval", bool, False),
    ("CardsActivateOnIssue", bool, False), ("CardsIssueBatchMax", int, 10_000))]
RULES = [RuleSchema("CardNeedsApproval", ("card",))]


def _median(rounds: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pure_python_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--names", type=int, default=30_000)
    args = parser.parse_args()
    # a tenth of them non-ASCII (Größe...), so the look-alike check has work too
    names = [f"Größe{i}" if i % 10 == 0 else f"CardsHelperValue{i}" for i in range(args.names)]
    evaluation = Evaluation({n: i for i, n in enumerate(names)}, {},
                            {n: i + 1 for i, n in enumerate(names)}, ())
    known = {o.name: o for o in OPTIONS}

    engine = _median(args.rounds, lambda: check(evaluation, OPTIONS, RULES))
    floor = _median(args.rounds, lambda: [known.get(n) for n in evaluation.values])
    print(f"check() of {args.names:,} names: {engine * 1000:8.1f} ms   floor (dict look-ups) "
          f"{floor * 1000:6.1f} ms   ratio {engine / floor:,.0f}")
    sample = names[:1000]
    before = _median(1, lambda: [_pure_python_distance(n.lower(), o.name.lower())
                                 for n in sample for o in OPTIONS
                                 if abs(len(n) - len(o.name)) <= 2])  # its length bound
    print(f"pure-Python distance (before), {args.names:,} names: "
          f"{before * args.names / len(sample):8.1f} s (extrapolated from {len(sample):,})")

    source = "".join(f"{n} = {i}\n" for i, n in enumerate(names))
    limits = Limits(sizes=Sizes(names=args.names + 10, source_bytes=max(len(source.encode()) + 1,
                                                                       256 * 1024)))
    with Sandbox(limits) as box:
        box.evaluate("x = 1")  # start the worker: start-up is not the eval's cost

        def named() -> None:
            found = box.evaluate(source)
            assert found.ok, found.problems[:1]
            check(found, OPTIONS, RULES)
        engine = _median(args.rounds, named)
        floor = _median(args.rounds, lambda: box.evaluate(source))
    print(f"named eval of {args.names:,} names: {engine * 1000:8.1f} ms   floor (sandbox "
          f"evaluate alone) {floor * 1000:6.1f} ms   ratio {engine / floor:.2f}")


if __name__ == "__main__":
    main()
