"""Sending email over SMTP with the standard library, for ``services/delivery.py``.

Each send opens one connection (STARTTLS and login when set), sends one message and
quits. Errors are sorted into temporary (no connection, a timeout, a ``4xx`` reply: try
again later) and permanent (a ``5xx`` reply, a refused recipient). The reason recorded
is the reply code and the kind of failure, never the server's words (they may quote an
address).
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from needlewise.config import Settings
from needlewise.services.delivery import Email, SendFailure


def build_email(email: Email, sender: str) -> EmailMessage:
    """The MIME message of ``email`` (plain text, UTF-8)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Message-ID"] = email.message_id
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Content-Language"] = email.language
    message.set_content(email.body)
    return message


def _code_failure(code: int, what: str) -> SendFailure:
    return SendFailure(f"SMTP {code} {what}", permanent=500 <= code < 600)


class SmtpSender:
    """Sends each email through ``settings.smtp_host:smtp_port``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def connect(self) -> smtplib.SMTP:
        """An open, ready connection (raises :class:`SendFailure`)."""
        s = self.settings
        try:
            client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
            if s.smtp_starttls:
                client.starttls()
            if s.smtp_username:
                client.login(s.smtp_username, s.smtp_password or "")
        except smtplib.SMTPResponseException as exc:
            raise _code_failure(exc.smtp_code, "on connect") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailure(
                f"cannot reach the mail server ({type(exc).__name__})", permanent=False
            ) from None
        return client

    def send(self, email: Email) -> None:
        client = self.connect()
        try:
            self.send_on(client, email)
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()

    def send_on(self, client: smtplib.SMTP, email: Email) -> None:
        """Send ``email`` on an open connection."""
        message = build_email(email, self.settings.smtp_from)
        try:
            refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise _code_failure(max(codes) if codes else 550, "recipient refused") from None
        except smtplib.SMTPResponseException as exc:
            raise _code_failure(exc.smtp_code, "refused the message") from None
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            raise SendFailure(f"connection lost ({type(exc).__name__})", permanent=False) from None
        if refused:
            codes = [code for code, _ in refused.values()]
            raise _code_failure(max(codes), "recipient refused")


def check_smtp(settings: Settings) -> str | None:
    """Why the SMTP settings cannot be used (one line), or None when a connection works."""
    try:
        client = SmtpSender(settings).connect()
    except SendFailure as failure:
        return f"{failure.reason} at {settings.smtp_host}:{settings.smtp_port}"
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()
    return None
