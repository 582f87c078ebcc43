"""The default `Notifier`: delivers a notification over SMTP.

It is given the server parsed (`SmtpServer`); `idmflow.engine.config` reads
`IDMFLOW_SMTP_URL` (`smtp://host:port`, `smtp://user:pw@host:587?starttls=1`,
`smtps://user:pw@host:465`) and checks it. The outbox sender calls it; a failure raises, and
the sender retries the mail later.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import urlsplit

from idmflow.engine.ports import Notification

DEFAULT_URL = "smtp://127.0.0.1:25"
DEFAULT_SENDER = "idmflow@localhost"


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where mail goes and how to log in."""

    host: str
    port: int
    tls: bool = False  # TLS from the start (smtps)
    starttls: bool = False  # plain, then STARTTLS
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        """The server as people may see it: no password."""
        scheme = "smtps" if self.tls else "smtp"
        login = "" if not self.user else self.user + (":***" if self.password else "") + "@"
        return (f"{scheme}://{login}{self.host}:{self.port}"
                + ("?starttls=1" if self.starttls else ""))

    @staticmethod
    def masked(url: str) -> str:
        """A URL as given, its password masked, for messages about it."""
        parts = urlsplit(url)
        try:
            password = parts.password
        except ValueError:
            password = None
        if password:
            return parts._replace(netloc=parts.netloc.replace(f":{password}@", ":***@")).geturl()
        return url


class SmtpNotifier:
    """Sends each notification as one mail (text, with an HTML alternative when given)."""

    def __init__(self, server: SmtpServer, *, sender: str = DEFAULT_SENDER,
                 timeout: float = 10.0) -> None:
        self.server = server
        self._sender = sender
        self._timeout = timeout

    def __str__(self) -> str:
        return str(self.server)

    def send(self, notification: Notification) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        # Header values on one line whatever the caller gave (a reason with a line break).
        message["To"] = ", ".join(" ".join(to.split()) for to in notification.to)
        message["Subject"] = " ".join(notification.subject.split())
        message["Date"] = formatdate(localtime=False)
        for name, value in notification.headers.items():
            message[name] = " ".join(value.split())
        message.set_content(notification.text)
        if notification.html:
            message.add_alternative(notification.html, subtype="html")
        server = self.server
        smtp_class = smtplib.SMTP_SSL if server.tls else smtplib.SMTP
        with smtp_class(server.host, server.port, timeout=self._timeout) as smtp:
            if server.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if server.user:
                smtp.login(server.user, server.password or "")
            smtp.send_message(message)
