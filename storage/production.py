"""The default `Producer`: a simulated card printer with a configurable failure rate.

A host plugs in its real printer or production service instead. `open()` passes the failure
rate (`IDMFLOW_PRODUCTION_FAILURE_RATE`, 0.0 to 1.0) and the seed that makes the failures
repeatable (`IDMFLOW_PRODUCTION_SEED`), as `idmflow.engine.config` read and checked them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from idmflow.engine.ports import ProductionOrder, ProductionResult


class SimulatedProducer:
    """Succeeds, except for a random share `failure_rate` of the orders."""

    def __init__(self, failure_rate: float = 0.0, *, seed: int | None = None) -> None:
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError(f"failure_rate must be between 0.0 and 1.0, not {failure_rate}")
        self.failure_rate = failure_rate
        self._random = random.Random(seed)

    def produce(self, orders: Sequence[ProductionOrder]) -> list[ProductionResult]:
        return [ProductionResult(o.id, True) if self._random.random() >= self.failure_rate
                else ProductionResult(o.id, False, "simulated printer failure")
                for o in orders]
