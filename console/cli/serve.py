"""`idmflow serve`: the web console, served by waitress (never Flask's debug server).

With `--demo` it first does what `idmflow init` and `idmflow demo` do, so one command takes
a newcomer from an empty folder to a console to log in to: it prints the accounts it
created (`operator / PASSWORD`) and the URL before it starts serving. While it serves, it
runs a worker for the background jobs (mail above all) unless `--no-worker` says workers run
apart (`idmflow worker`). A demo with no IDMFLOW_SMTP_URL delivers its mail into a local
mailbox file, shown in the Outbox page.
"""

from __future__ import annotations

import signal

import click
from click.core import ParameterSource

from idmflow.console.web import create_app
from idmflow.console.web.secret_key import key_file
from idmflow.engine.config import SECRET_KEY as ENV_VAR
from idmflow.engine.config import from_environment

from . import database
from .state import State


def _loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any interface


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8000, type=click.IntRange(0, 65535), show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--demo", is_flag=True,
              help="First create or upgrade the schema and seed the demo users and accounts, "
                   "as `idmflow init` and `idmflow demo` do; new accounts' passwords are "
                   "printed.")
@click.option("--users", "n", type=int, default=1000, show_default=True,
              help="With --demo: how many demo directory users.")
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Requests served at once.")
@click.option("--worker/--no-worker", "with_worker", default=True, show_default=True,
              help="Run background jobs (mail, long steps) in this process; --no-worker "
                   "when `idmflow worker` processes run them.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, demo: bool, n: int, threads: int,
          with_worker: bool) -> None:
    """Serve the web console until Ctrl+C.

    Sessions are signed with IDMFLOW_SECRET_KEY, else with a key kept next to the SQLite
    database (`<database>.secret-key`), so logins survive a restart.
    """
    if not demo and ctx.get_parameter_source("n") is ParameterSource.COMMANDLINE:
        raise click.UsageError("--users seeds demo users and needs --demo")
    state: State = ctx.obj
    if demo:
        ctx.invoke(database.demo, n=n)
    app = create_app(state.engine)
    if not from_environment().secret_key:
        where = key_file(state.engine.db.url.render_as_string()).resolve()
        click.echo(f"sessions: signed with the key in {where} (set {ENV_VAR} to share one "
                   "key between servers)")
    import waitress  # type: ignore[import-untyped]  # here: `idmflow --help` stays quick

    try:
        server = waitress.create_server(app, host=host, port=port, threads=threads,
                                        ident="idmflow")
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                                   "choose another with --port or --host") from None
    settings = from_environment()
    if demo and not settings.smtp_configured:
        from idmflow.storage.mailbox import LocalMailbox

        state.engine.notifier = LocalMailbox(_mailbox_path(state), sender=settings.mail_from)
        click.echo(f"mail: no IDMFLOW_SMTP_URL, so mail goes into the {state.engine.notifier} "
                   "(the admin's Outbox page shows it)")
    worker = None
    if with_worker:
        worker = state.engine.worker(concurrency=2)
        worker.start()
        click.echo(f"worker: background jobs run in this process; mail is sent via "
                   f"{state.engine.notifier}")
    if not _loopback(host) and not settings.secure_cookies:
        click.echo(f"warning: serving plain HTTP on {host}: passwords and session cookies "
                   "cross the network readable. Put a reverse proxy with TLS in front (see "
                   "the README's HTTPS section), list it in IDMFLOW_PROXIES and set "
                   "IDMFLOW_SECURE_COOKIES=1.", err=True)
    _stop_on_signals()
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"idmflow console: http://{shown}:{server.effective_port}/ (Ctrl+C stops it)")
    try:
        server.run()  # waitress returns (or we raise) on Ctrl+C and SIGTERM
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if worker is not None:
            worker.stop(grace=10.0)
    click.echo("stopped")


def _stop_on_signals() -> None:
    """Ctrl+C and SIGTERM (systemd, a container's stop) both end serving the same way: the
    server closes and the embedded worker drains. Set here, not inherited: a shell that
    started us in the background may have left SIGINT ignored."""

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def _mailbox_path(state: State) -> str:
    """Next to the SQLite database (`idmflow.db` -> `idmflow.db.mbox`), else in the folder."""
    database = state.engine.db.url.database
    if state.engine.db.dialect.name == "sqlite" and database not in (None, "", ":memory:"):
        return f"{database}.mbox"
    return "idmflow-mail.mbox"
