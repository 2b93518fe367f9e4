"""The reminder channels: mail over SMTP, chat webhooks, browser notifications.

Each function raises on failure so the dispatcher can retry and record why.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import urlparse

from sqlalchemy.orm import Session

from calcard.core import outbound
from calcard.core.models import Notification
from calcard.store import push

log = logging.getLogger("calcard.delivery")
CHAT_UNREACHABLE = "the chat webhook could not be reached"

TIMEOUT_SECONDS = 10


class DeliveryError(RuntimeError):
    pass


def send_email(
    smtp_url: str,
    sender: str,
    to: str,
    subject: str,
    body: str,
    ref: str,
    html: str = "",
    calendar: str = "",
    method: str = "",
) -> None:
    """One mail; ``ref`` makes a stable Message-ID, so a repeat is recognisable.

    With ``calendar``, an iMIP message (RFC 6047): text and HTML bodies plus the
    iTIP object as ``text/calendar; method=...``.
    """
    if not smtp_url:
        raise DeliveryError("no SMTP server configured (CALCARD_SMTP_URL)")
    if not to:
        raise DeliveryError("the calendar owner has no email address")
    url = urlparse(smtp_url)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = f"<{ref}@calcard>"  # stable: a repeat is recognisable
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    if calendar:
        message.add_alternative(calendar, subtype="calendar", params={"method": method})
    try:
        with smtplib.SMTP(
            url.hostname or "127.0.0.1", url.port or 25, timeout=TIMEOUT_SECONDS
        ) as smtp:
            if url.scheme == "smtp+starttls":
                smtp.starttls()
            if url.username:
                smtp.login(url.username, url.password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP: {exc}") from exc


def post_chat(webhook: str, text: str, allow: str = "") -> None:
    """Mattermost/kChat/Slack-compatible incoming webhook: JSON {"text": ...}.

    Through the outbound guard (``calcard.outbound``): internal addresses only
    when the operator allows them (``allow``, CALCARD_OUTBOUND_ALLOW), no
    redirects. The user sees one generic error whatever went wrong, so the
    webhook cannot be used to map what answers where; the log has the details.
    """
    import httpx  # with the first outbound request (outbound.client)

    try:
        with outbound.client(allow, TIMEOUT_SECONDS) as http:
            status = http.post(webhook, json={"text": text}).status_code
    except (outbound.Refused, httpx.HTTPError, ValueError) as exc:
        log.warning("chat webhook %s failed: %s", _redacted(webhook), exc)
        raise DeliveryError(CHAT_UNREACHABLE) from exc
    if status >= 300:
        log.warning("chat webhook %s answered %d", _redacted(webhook), status)
        raise DeliveryError(CHAT_UNREACHABLE)


def _redacted(url: str) -> str:
    """The webhook without its path (which is the secret of an incoming webhook)."""
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}/..."


def notify_browser(s: Session, owner: str, reminder_id: int | None, title: str, body: str) -> None:
    """Stored, so every web session on every node sees it (the SSE stream polls), and
    sent to the owner's browsers by Web Push (``store.push``), for closed tabs."""
    s.add(Notification(owner=owner, reminder_id=reminder_id, title=title, body=body))
    s.flush()
    push.owner_notified(s, owner)
