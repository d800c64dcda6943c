"""Pluggable senders of one-time codes.

    JIYUE_CODE_SENDERS = {"email": "jiyue.identity.senders.EmailSender",
                          "sms": "jiyue.identity.senders.LogSmsSender"}

A sender is a class with `send(recipient, code, purpose)`; it raises `SendError` when the
message cannot be handed over. E-mail goes through Django's e-mail backend (SMTP with the
EMAIL_* settings); SMS is an adapter: connect a provider by writing a CodeSender subclass and
naming it in the setting. The development implementation writes the code to the log.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

sms_log = logging.getLogger("jiyue.identity.sms")


class SendError(Exception):
    pass


def purpose_label(purpose: str) -> str:
    from .models import VerificationCode

    return str(dict(VerificationCode.PURPOSES).get(purpose, purpose))


class CodeSender:
    """Interface: deliver `code` for `purpose` (a VerificationCode purpose) to `recipient`."""

    def send(self, recipient: str, code: str, purpose: str) -> None:
        raise NotImplementedError

    @staticmethod
    def text(code: str, purpose: str) -> str:
        minutes = getattr(settings, "JIYUE_CODE_TTL_SECONDS", 600) // 60
        return _("您的%(purpose)s验证码是 %(code)s，%(minutes)d 分钟内有效。如非本人操作，请忽略本消息。") % {
            "purpose": purpose_label(purpose), "code": code, "minutes": minutes}


class EmailSender(CodeSender):
    """Through Django's e-mail backend (EMAIL_BACKEND, EMAIL_HOST, ... from the environment)."""

    def send(self, recipient, code, purpose):
        from django.core.mail import send_mail

        subject = _("%(site)s：%(purpose)s验证码") % {"site": settings.WAGTAIL_SITE_NAME,
                                                   "purpose": purpose_label(purpose)}
        try:
            send_mail(subject, self.text(code, purpose), None, [recipient], fail_silently=False)
        except Exception as exc:  # SMTP errors, refused connections, ...
            raise SendError(str(exc)) from exc


class LogSmsSender(CodeSender):
    """Development SMS gateway: writes the message to the log (logger "jiyue.identity.sms")."""

    def send(self, recipient, code, purpose):
        sms_log.warning("SMS to %s: %s", recipient, self.text(code, purpose))


def sender(channel: str) -> CodeSender:
    path = (getattr(settings, "JIYUE_CODE_SENDERS", None) or {}).get(channel)
    if not path:
        raise SendError(f"no sender configured for {channel}")
    return import_string(path)()
