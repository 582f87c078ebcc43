"""Operations: `/healthz`, `/readyz` and `/metrics`, for load balancers and Prometheus.

None needs a login. `/metrics` is off unless IDMFLOW_METRICS_TOKEN is set; then it answers
requests that carry `Authorization: Bearer TOKEN` (Prometheus' `authorization` setting).
The numbers of jobs, instances, decisions and mail come from the database at each scrape,
so any console process reports the same; HTTP requests are this process's own.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, request

from idmflow.engine.config import from_environment
from idmflow.engine.health import numbers, readiness

from .extension import engine

ops = Blueprint("ops", __name__)
METRICS = "idmflow_metrics"


@ops.get("/healthz")
def healthz() -> Response:
    """200 while the process runs."""
    return jsonify({"alive": True})


@ops.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when the database answers, the schema is current and a worker runs; else 503."""
    state = readiness(engine().db, engine().clock)
    return jsonify(state.to_json()), 200 if state.ready else 503


@ops.get("/metrics")
def metrics() -> Response:
    """Prometheus text; 404 unless IDMFLOW_METRICS_TOKEN is set, 401 without the token."""
    token = from_environment().metrics_token
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        return Response("a metrics token is needed (Authorization: Bearer TOKEN)\n", 401,
                        {"WWW-Authenticate": "Bearer"})
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(current_app.extensions[METRICS].registry), 200,
                    {"Content-Type": CONTENT_TYPE_LATEST})


class Metrics:
    """One registry per app (a host may mount two consoles): database numbers at each scrape
    and the HTTP requests this process served."""

    def __init__(self, app: Flask) -> None:
        from prometheus_client import CollectorRegistry, Histogram

        self.registry = CollectorRegistry()
        self.requests = Histogram("idmflow_http_request_seconds",
                                  "HTTP requests of the console by route and status",
                                  ["route", "method", "status"], registry=self.registry)
        self.registry.register(_DatabaseCollector(app))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).observe(seconds)


class _DatabaseCollector:
    def __init__(self, app: Flask) -> None:
        self._app = app

    def collect(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        with self._app.app_context():
            found = numbers(engine().db, engine().clock)
        jobs = GaugeMetricFamily("idmflow_jobs", "Jobs by kind and state", labels=["kind", "state"])
        for (kind, state), n in sorted(found["jobs"].items()):
            jobs.add_metric([kind, state], n)
        yield jobs
        yield GaugeMetricFamily("idmflow_queue_latency_seconds",
                                "How long the longest-waiting due job has waited",
                                value=found["queue_latency"])
        instances = GaugeMetricFamily("idmflow_instances", "Process instances by process, "
                                      "running or ended", labels=["process", "status"])
        for process, running, n in found["instances"]:
            instances.add_metric([process, "running" if running else "ended"], n)
        yield instances
        decisions = GaugeMetricFamily("idmflow_decisions", "Task decisions by process and "
                                      "decision", labels=["process", "decision"])
        for process, decision, n in found["decisions"]:
            decisions.add_metric([process, decision], n)
        yield decisions
        mails = GaugeMetricFamily("idmflow_mails", "Mails of the outbox by status",
                                  labels=["status"])
        for status, n in found["mails"]:
            mails.add_metric([status], n)
        yield mails


def install(app: Flask) -> None:
    """Count the console's requests by route; `/metrics` shows them."""
    collected = Metrics(app)
    app.extensions[METRICS] = collected

    @app.before_request
    def _started() -> None:
        g.idmflow_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("idmflow_started", None)
        if started is not None and request.blueprint != "ops":
            collected.observe(request.url_rule.rule if request.url_rule else "unmatched",
                              request.method, response.status_code,
                              time.perf_counter() - started)
        return response
