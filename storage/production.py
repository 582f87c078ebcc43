"""The default `Producer`: a simulated card printer with a configurable failure rate.

A host plugs in its real printer or production service instead. The failure rate comes from
`IDMFLOW_PRODUCTION_FAILURE_RATE` (0.0 to 1.0, default 0.0); `IDMFLOW_PRODUCTION_SEED` makes
the failures repeatable.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence

from idmflow.engine.ports import ProductionOrder, ProductionResult

RATE_VAR = "IDMFLOW_PRODUCTION_FAILURE_RATE"
SEED_VAR = "IDMFLOW_PRODUCTION_SEED"


class SimulatedProducer:
    """Succeeds, except for a random share `failure_rate` of the orders."""

    def __init__(self, failure_rate: float | None = None, *, seed: int | None = None) -> None:
        if failure_rate is None:
            failure_rate = float(os.environ.get(RATE_VAR) or 0.0)
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError(f"{RATE_VAR} must be between 0.0 and 1.0, not {failure_rate}")
        if seed is None and os.environ.get(SEED_VAR):
            seed = int(os.environ[SEED_VAR])
        self.failure_rate = failure_rate
        self._random = random.Random(seed)

    def produce(self, orders: Sequence[ProductionOrder]) -> list[ProductionResult]:
        return [ProductionResult(o.id, True) if self._random.random() >= self.failure_rate
                else ProductionResult(o.id, False, "simulated printer failure")
                for o in orders]
