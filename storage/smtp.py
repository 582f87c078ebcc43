"""The default `Notifier`: delivers a notification over SMTP.

`IDMFLOW_SMTP_URL` names the server: `smtp://host:port` (plain), `smtp://user:pw@host:587?starttls=1`
(STARTTLS, then login), `smtps://user:pw@host:465` (TLS from the start). The outbox sender
calls it; a failure raises, and the sender retries the mail later.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

from idmflow.engine.ports import Notification

DEFAULT_URL = "smtp://127.0.0.1:25"
ENV_VAR = "IDMFLOW_SMTP_URL"
SENDER = "idmflow@localhost"


def smtp_url(url: str | None = None) -> str:
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def safe_smtp_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


class SmtpNotifier:
    """Sends each notification as one mail (text, with an HTML alternative when given)."""

    def __init__(self, url: str | None = None, *, sender: str | None = None,
                 timeout: float = 10.0) -> None:
        self.url = smtp_url(url)
        parts = urlsplit(self.url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"IDMFLOW_SMTP_URL must start with smtp:// or smtps://, not "
                             f"{safe_smtp_url(self.url)!r}")
        query = parse_qs(parts.query)
        self._tls = parts.scheme == "smtps"
        self._starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (465 if self._tls else 25)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._sender = sender or os.environ.get("IDMFLOW_MAIL_FROM") or SENDER
        self._timeout = timeout

    def send(self, notification: Notification) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = ", ".join(notification.to)
        message["Subject"] = notification.subject
        message["Date"] = formatdate(localtime=False)
        for name, value in notification.headers.items():
            message[name] = value
        message.set_content(notification.text)
        if notification.html:
            message.add_alternative(notification.html, subtype="html")
        smtp_class = smtplib.SMTP_SSL if self._tls else smtplib.SMTP
        with smtp_class(self._host, self._port, timeout=self._timeout) as smtp:
            if self._starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self._user:
                smtp.login(self._user, self._password or "")
            smtp.send_message(message)
