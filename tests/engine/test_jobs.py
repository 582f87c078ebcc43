"""Background jobs on SQLite and PostgreSQL: enqueued with what causes them, claimed once,
retried with backoff, reaped when their worker dies, drained on SIGTERM; mail through them
never holds a lock across SMTP."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

import idmflow.engine as idm
from idmflow.engine.jobs import JobContext, JobFailed, JobKind
from idmflow.storage import jobs as store
from idmflow.storage.database import write_transaction
from idmflow.storage.smtp import SmtpNotifier, SmtpServer

from ..conftest import FixedClock


@pytest.fixture
def clocked(demo_url: str) -> Iterator[idm.Engine]:
    """The demo engine on a clock the test moves."""
    eng = idm.open(demo_url, clock=FixedClock())
    yield eng
    eng.close()


def _kind(name: str, run: Any, **kw: Any) -> JobKind:
    return JobKind(name, run, **kw)


def _later(engine: idm.Engine, **delta: float) -> None:
    clock = engine.clock
    assert isinstance(clock, FixedClock)
    clock.time += dt.timedelta(**delta)


def test_a_job_exists_only_if_its_transaction_commits(clocked: idm.Engine) -> None:
    ran: list[dict[str, Any]] = []
    clocked.jobs.register(_kind("note", lambda ctx: ran.append(ctx.payload) or "ok"))
    with pytest.raises(RuntimeError):
        with write_transaction(clocked.db) as conn:
            clocked.jobs.enqueue("note", {"n": 1}, conn=conn)
            raise RuntimeError("the step failed")
    assert clocked.jobs.find()[1] == 0
    with write_transaction(clocked.db) as conn:
        job_id = clocked.jobs.enqueue("note", {"n": 2}, conn=conn)
    [outcome] = clocked.worker().run_due()
    assert outcome.state == "succeeded" and ran == [{"n": 2}]
    job = clocked.jobs.get(job_id)
    assert job.state == "succeeded" and job.result == "ok" and job.attempts == 1


def test_one_key_is_one_job(clocked: idm.Engine) -> None:
    clocked.jobs.register(_kind("note", lambda ctx: None))
    first = clocked.jobs.enqueue("note", {"n": 1}, key="once")
    assert clocked.jobs.enqueue("note", {"n": 2}, key="once") == first
    assert clocked.jobs.find()[1] == 1
    assert clocked.worker().run_due()[0].job.payload == {"n": 1}


def test_failures_back_off_then_the_job_is_dead_and_can_be_retried(clocked: idm.Engine) -> None:
    calls: list[int] = []

    def flaky(ctx: JobContext) -> None:
        calls.append(ctx.attempt)
        raise ConnectionError("the CA does not answer")

    clocked.jobs.register(_kind("ca", flaky, max_attempts=3,
                                first_retry=dt.timedelta(seconds=10)))
    job_id = clocked.jobs.enqueue("ca", {})
    worker = clocked.worker()
    assert [o.state for o in worker.run_due()] == ["retrying"]
    job = clocked.jobs.get(job_id)
    assert job.last_error == "ConnectionError: the CA does not answer"
    assert dt.timedelta(seconds=8) <= job.run_at - clocked.clock.now() <= dt.timedelta(seconds=10)
    assert worker.run_due() == []  # not due yet
    _later(clocked, seconds=10)
    assert [o.state for o in worker.run_due()] == ["retrying"]
    _later(clocked, seconds=20)
    assert [o.state for o in worker.run_due()] == ["dead"]
    assert calls == [1, 2, 3] and clocked.jobs.get(job_id).state == "dead"
    dead, _ = clocked.jobs.find(states=["dead"])
    assert [j.id for j in dead] == [job_id]
    assert clocked.jobs.retry([job_id]) == [job_id]
    assert [o.state for o in worker.run_due()] == ["dead"]  # one more attempt, and dead again
    assert calls == [1, 2, 3, 4]


def test_job_failed_ends_at_once_and_unknown_kinds_wait(clocked: idm.Engine) -> None:
    def refuse(ctx: JobContext) -> None:
        raise JobFailed("the payload names no card")

    clocked.jobs.register(_kind("refuse", refuse))
    job_id = clocked.jobs.enqueue("refuse", {})
    with write_transaction(clocked.db) as conn:
        stranger, _new = store.enqueue(conn, kind="from-a-plugin", queue="default", payload={},
                                       now=clocked.clock.now())
    outcomes = {o.job.id: o for o in clocked.worker().run_due()}
    assert outcomes[job_id].state == "dead" and outcomes[job_id].error == "the payload names no card"
    assert outcomes[stranger].state == "retrying"
    assert "no job kind 'from-a-plugin'" in (clocked.jobs.get(stranger).last_error or "")


def test_bad_input_is_refused_clearly(clocked: idm.Engine) -> None:
    clocked.jobs.register(_kind("note", lambda ctx: None))
    known = "mail, note, retention, step"
    with pytest.raises(idm.NotFound, match=f"no job kind 'nope' \\(known: {known}\\)"):
        clocked.jobs.enqueue("nope", {})
    with pytest.raises(idm.InputError, match="plain JSON"):
        clocked.jobs.enqueue("note", {"when": dt.datetime.now()})
    with pytest.raises(idm.InputError, match="plain JSON"):
        clocked.jobs.enqueue("note", {"x": float("nan")})
    with pytest.raises(idm.NotFound, match="no job 999"):
        clocked.jobs.get(999)
    with pytest.raises(idm.InputError, match="unknown job state 'done'"):
        clocked.jobs.find(states=["done"])
    with pytest.raises(idm.IdmflowError, match="registered twice"):
        clocked.jobs.register(_kind("note", lambda ctx: None))
    assert clocked.jobs.find()[1] == 0


def test_the_reaper_requeues_the_job_of_a_dead_worker(clocked: idm.Engine) -> None:
    clocked.jobs.register(_kind("note", lambda ctx: "done", lease=dt.timedelta(seconds=30)))
    job_id = clocked.jobs.enqueue("note", {})
    with write_transaction(clocked.db) as conn:  # a worker that claims, then is never heard of
        [claimed] = store.claim(conn, queues=None, owner="ghost", now=clocked.clock.now(),
                                lease=dt.timedelta(seconds=30))
    worker = clocked.worker()
    assert worker.run_due() == [] and worker.reap() == 0  # its lease still runs
    _later(clocked, seconds=31)
    assert worker.reap() == 1
    job = clocked.jobs.get(job_id)
    assert job.state == "retrying" and "was interrupted: worker ghost stopped renewing its lease" in (
        job.last_error or "")
    _later(clocked, minutes=1)
    [outcome] = worker.run_due()
    assert outcome.state == "succeeded" and clocked.jobs.get(job_id).attempts == 2
    with write_transaction(clocked.db) as conn:  # the ghost comes back: its record is refused
        assert not store.succeed(conn, claimed.id, "ghost", "late", clocked.clock.now())


def test_cancel_only_what_has_not_started(clocked: idm.Engine) -> None:
    clocked.jobs.register(_kind("note", lambda ctx: None))
    waiting = clocked.jobs.enqueue("note", {}, run_at=clocked.clock.now() + dt.timedelta(hours=1))
    done = clocked.jobs.enqueue("note", {})
    clocked.worker().run_due()
    assert clocked.jobs.cancel([waiting, done]) == [waiting]
    assert clocked.jobs.get(waiting).state == "cancelled"


def test_three_workers_never_run_one_job_twice(demo_url: str) -> None:
    _three_workers(demo_url, jobs=300 if demo_url.startswith("postgresql") else 60)


def _three_workers(url: str, *, jobs: int) -> None:
    setup = idm.open(url)
    with setup.db.begin() as conn:
        conn.execute(text("CREATE TABLE effects (job_id INTEGER NOT NULL)"))

    def effect(ctx: JobContext) -> None:
        with ctx.host.db.begin() as conn:
            conn.execute(text("INSERT INTO effects VALUES (:id)"), {"id": ctx.job.id})

    setup.jobs.register(_kind("effect", effect))
    with write_transaction(setup.db) as conn:
        for i in range(jobs):
            setup.jobs.enqueue("effect", {"i": i}, conn=conn)
    engines = [idm.open(url) for _ in range(3)]
    barrier = threading.Barrier(3, timeout=60)
    ran: list[int] = []

    def work(engine: idm.Engine) -> None:
        engine.jobs.register(_kind("effect", effect))
        barrier.wait()
        ran.append(len(engine.worker().run_due()))

    threads = [threading.Thread(target=work, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with setup.db.connect() as conn:
        done = [r[0] for r in conn.execute(text("SELECT job_id FROM effects"))]
    assert sum(ran) == jobs and len(done) == len(set(done)) == jobs
    assert setup.jobs.find(states=["succeeded"])[1] == jobs
    for engine in (setup, *engines):
        engine.close()


# -- real processes: kill -9, SIGTERM ----------------------------------------------------

_CHILD = textwrap.dedent("""
    import datetime as dt, os, sys, time
    import idmflow.engine as idm
    from idmflow.engine.jobs import JobKind

    url, marker, seconds, mode = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]

    def slow(ctx):
        open(marker, "a").write(f"start {ctx.attempt}\\n")
        time.sleep(seconds)
        open(marker, "a").write(f"effect {ctx.job.id}\\n")
        return "done"

    engine = idm.open(url)
    engine.jobs.register(JobKind("slow", slow, lease=dt.timedelta(seconds=2)))
    if mode == "once":
        engine.worker().run_one()
    else:  # `idmflow worker`, over this engine (which knows the kind "slow")
        from idmflow.console.cli.jobs import worker
        from idmflow.console.cli.state import State
        state = State(url)
        state._engine = engine
        worker.main(["--grace", mode], obj=state)
""")


def _child(url: str, marker: Path, seconds: float, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _CHILD, url, str(marker), str(seconds), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(marker: Path, line: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and line in marker.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{line!r} never appeared in {marker}")


def test_kill_9_in_the_middle_of_a_job_runs_it_again_with_one_effect(engine: idm.Engine,
                                                                    demo_url: str,
                                                                    tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    engine.jobs.register(_kind("slow", lambda ctx: marker.open("a").write(
        f"effect {ctx.job.id}\n") and "done", lease=dt.timedelta(seconds=2)))
    job_id = engine.jobs.enqueue("slow", {})
    child = _child(demo_url, marker, 30, "once")
    _wait_for(marker, "start 1")
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert engine.jobs.get(job_id).state == "running"
    time.sleep(2.1)  # the dead worker's lease runs out
    worker = engine.worker()
    assert worker.reap() == 1
    job = engine.jobs.get(job_id)
    assert job.state == "retrying" and job.attempts == 1
    with write_transaction(engine.db) as conn:  # no need to wait for the backoff here
        store.retry(conn, [job_id], engine.clock.now())
    [outcome] = worker.run_due()
    assert outcome.state == "succeeded" and engine.jobs.get(job_id).attempts == 2
    assert marker.read_text().count("effect") == 1


def test_sigterm_lets_a_running_job_finish(engine: idm.Engine, demo_url: str,
                                           tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    engine.jobs.register(_kind("slow", lambda ctx: None))
    job_id = engine.jobs.enqueue("slow", {})
    child = _child(demo_url, marker, 1.5, "30")
    _wait_for(marker, "start 1")
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert "stopping: running jobs get 30 s to finish" in out and "stopped" in out
    assert engine.jobs.get(job_id).state == "succeeded"
    assert marker.read_text().count("effect") == 1


def test_sigterm_gives_back_what_does_not_finish_in_the_grace(engine: idm.Engine, demo_url: str,
                                                              tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    engine.jobs.register(_kind("slow", lambda ctx: None))
    job_id = engine.jobs.enqueue("slow", {})
    child = _child(demo_url, marker, 30, "0.5")
    _wait_for(marker, "start 1")
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert f"gave back to the queue: jobs {job_id}" in out
    job = engine.jobs.get(job_id)
    assert job.state == "queued" and "released by worker" in (job.last_error or "")


# -- mail --------------------------------------------------------------------------------

@pytest.fixture
def silent_smtp() -> Iterator[tuple[int, Any]]:
    """A server that accepts SMTP connections and never answers, until told to close."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    release = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        server.settimeout(0.2)
        while not release.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    def close() -> None:
        release.set()
        thread.join(5)
        for conn in held:
            conn.close()

    yield server.getsockname()[1], close
    close()
    server.close()


def test_a_silent_smtp_server_never_blocks_people_on_sqlite(engine: idm.Engine,
                                                            silent_smtp: tuple[int, Any]) -> None:
    port, close = silent_smtp
    from ..console.conftest import ACTIVE, approval_on, batch

    approval_on(engine)
    batch(engine, ACTIVE[:2])  # one mail due: "Approval needed"
    engine.notifier = SmtpNotifier(SmtpServer("127.0.0.1", port), timeout=60)
    sender = threading.Thread(target=engine.deliver_mail, daemon=True)
    sender.start()
    deadline = time.monotonic() + 10
    while not engine.outbox(status="sending")[1] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert engine.outbox(status="sending")[1] == 1  # the sender waits for the server now
    # ...and people's writes go on meanwhile, on SQLite too: no lock is held across SMTP
    for start in (2, 4, 6):
        task = batch(engine, ACTIVE[start:start + 2])
        engine.decide(task.id, actor="approver", decision="approve")
    assert sender.is_alive()
    close()  # the server hangs up: the mail goes back to pending, to be retried
    sender.join(30)
    tried = [m for m in engine.outbox(status="pending")[0] if m.attempts]
    assert len(tried) == 1 and not tried[0].possible_duplicate
    assert "SMTPServerDisconnected" in (tried[0].last_error or "")


def test_a_mail_whose_sender_died_after_the_send_says_it_may_be_a_duplicate(
        engine: idm.Engine, demo_url: str, smtp_server: Any) -> None:
    from ..console.conftest import ACTIVE, approval_on, batch

    approval_on(engine)
    batch(engine, ACTIVE[:2])
    port = int(os.environ["IDMFLOW_SMTP_URL"].rsplit(":", 1)[1])
    child = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import os, signal, sys
        import idmflow.engine as idm
        from idmflow.storage.smtp import SmtpNotifier, SmtpServer

        class DiesAfterSending(SmtpNotifier):
            def send(self, notification):
                super().send(notification)
                os.kill(os.getpid(), signal.SIGKILL)  # after the server's OK, before the record

        engine = idm.open(sys.argv[1])
        engine.notifier = DiesAfterSending(SmtpServer("127.0.0.1", int(sys.argv[2])))
        engine.deliver_mail()
    """), demo_url, str(port)], capture_output=True, text=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    [mail], _ = engine.outbox(status="sending")
    assert mail.attempts == 1 and len(smtp_server.messages) == 1
    [job] = engine.jobs.find(kind="mail")[0]
    with write_transaction(engine.db) as conn:  # its lease has run out (a minute later)
        conn.execute(text("UPDATE jobs SET lease_expires_at = :t WHERE id = :id"),
                     {"t": engine.clock.now() - dt.timedelta(seconds=1), "id": job.id})
    engine.worker().reap()
    assert engine.retry_mail([mail.id]) == [mail.id]
    engine.notifier = SmtpNotifier(SmtpServer("127.0.0.1", port))
    assert engine.deliver_mail().sent == 1
    [mail], _ = engine.outbox(status="sent")
    assert mail.attempts == 2 and mail.possible_duplicate
    assert "stopped before it recorded the outcome" in (mail.last_error or "")
    assert [str(m["Message-ID"]) for m in smtp_server.messages] == [mail.message_id] * 2


def test_mail_retry_and_the_demo_mailbox(engine: idm.Engine, cli: Any, tmp_path: Path) -> None:
    from idmflow.storage.mailbox import LocalMailbox

    from ..console.conftest import ACTIVE, approval_on, batch

    approval_on(engine)
    batch(engine, ACTIVE[:2])
    with write_transaction(engine.db) as conn:  # given up on long ago
        conn.execute(text("UPDATE outbox SET status = 'failed', attempts = 8"))
        conn.execute(text("UPDATE jobs SET state = 'dead', attempts = 8"))
    [mail], _ = engine.outbox(status="failed")
    result = cli("mail", "retry", "--failed")
    assert result.exit_code == 0 and f"requeued: {mail.id}" in result.output
    engine.notifier = LocalMailbox(tmp_path / "demo.mbox")
    assert engine.deliver_mail().sent == 1
    [sent], _ = engine.outbox(status="sent")
    assert sent.delivered_via == f"local mailbox {tmp_path / 'demo.mbox'}"
    assert f"Message-ID: {sent.message_id}" in (tmp_path / "demo.mbox").read_text()
    assert oct((tmp_path / "demo.mbox").stat().st_mode & 0o777) == "0o600"
    refused = cli("mail", "retry", str(sent.id), "424242")
    assert refused.exit_code == 1 and "were not requeued" in refused.output
    usage = cli("mail", "retry")
    assert usage.exit_code == 2 and "give mail ids or --failed" in usage.output


def test_jobs_cli(engine: idm.Engine, cli: Any) -> None:
    import json

    from ..console.conftest import ACTIVE, approval_on, batch

    approval_on(engine)
    batch(engine, ACTIVE[:2])
    listed = cli("jobs", "list")
    assert listed.exit_code == 0 and "mail" in listed.output and "queued" in listed.output
    [job] = engine.jobs.find()[0]
    shown = cli("jobs", "show", str(job.id), "--json")
    assert shown.exit_code == 0 and json.loads(shown.output)["id"] == job.id
    assert cli("jobs", "cancel", str(job.id)).exit_code == 0
    assert engine.jobs.get(job.id).state == "cancelled"
    again = cli("jobs", "cancel", str(job.id))
    assert again.exit_code == 1 and f"jobs {job.id} were not cancelled" in again.output
    assert cli("jobs", "retry", str(job.id)).exit_code == 0
    assert engine.jobs.get(job.id).state == "queued"
    assert cli("jobs", "show", "999").exit_code == 1
    bad = cli("jobs", "list", "--state", "done")
    assert bad.exit_code == 2 and "'done' is not one of" in bad.output


def test_request_batch_in_the_background(engine: idm.Engine, cli: Any) -> None:
    import json

    from ..console.conftest import ACTIVE

    refused = cli("cards", "request-batch", "--as", "operator", "--users", "nobody-here",
                  "--background")
    assert refused.exit_code == 1 and "nobody-here" in refused.output
    assert engine.jobs.find(kind="step")[1] == 0  # a refused selection queues nothing
    result = cli("cards", "request-batch", "--as", "operator", "--users",
                 ",".join(ACTIVE[:3]), "--background", "--json")
    assert result.exit_code == 0, result.output
    queued = json.loads(result.output)
    assert queued["state"] == "confirm" and engine.jobs.get(queued["job"]).state == "queued"
    assert cli("worker", "--burst", "--queue", "steps").output.strip() == "1 succeeded"
    assert engine.instance(queued["instance"]).state == "done"
    assert engine.entity_states("card", instance_id=queued["instance"]) == {"approved": 3}
