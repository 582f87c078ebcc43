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
from typing import Any
from urllib.parse import urlsplit

from idmflow.engine.ports import DeliveryUncertain, Notification

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


def compose(notification: Notification, *, sender: str) -> EmailMessage:
    """The notification as one mail: text, with an HTML alternative when given."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(notification.to)
    message["Subject"] = notification.subject
    message["Date"] = formatdate(localtime=False)
    for name, value in notification.headers.items():
        message[name] = value
    message.set_content(notification.text)
    if notification.html:
        message.add_alternative(notification.html, subtype="html")
    return message


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
        message = compose(notification, sender=self._sender)
        server = self.server
        smtp_class = smtplib.SMTP_SSL if server.tls else smtplib.SMTP
        smtp = _tracking(smtp_class)(server.host, server.port, timeout=self._timeout)
        try:
            if server.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if server.user:
                smtp.login(server.user, server.password or "")
            _send(smtp, message, str(server))
        finally:
            try:
                smtp.quit()  # the message is accepted or refused by now: a QUIT that fails
            except (smtplib.SMTPException, OSError):  # changes nothing
                smtp.close()


def _tracking(smtp_class: type[smtplib.SMTP]) -> type[smtplib.SMTP]:
    """`smtp_class` noting when DATA begins: from then on, a broken connection leaves the
    outcome unknown."""

    class Tracking(smtp_class):  # type: ignore[valid-type,misc]
        in_data = False

        def data(self, msg: Any) -> tuple[int, bytes]:
            self.in_data = True
            return super().data(msg)  # type: ignore[no-any-return]

    return Tracking


def _send(smtp: smtplib.SMTP, message: EmailMessage, server: str) -> None:
    """`send_message`; a failure after DATA began with no reply is `DeliveryUncertain`."""
    try:
        smtp.send_message(message)
    except smtplib.SMTPResponseException:
        raise  # the server answered: a refusal, the mail was not taken
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        if getattr(smtp, "in_data", False):
            raise DeliveryUncertain(f"the connection to {server} broke after the message was "
                                    f"sent, before the reply: {exc}") from exc
        raise
