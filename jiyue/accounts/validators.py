import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CLASSES = [re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"\d"), re.compile(r"[^A-Za-z0-9]")]


class CharacterClassValidator:
    """等保 password rule: characters from at least three of four classes."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        if sum(1 for c in CLASSES if c.search(password or "")) < self.min_classes:
            raise ValidationError(
                _("密码须包含大写字母、小写字母、数字、特殊字符中的至少 %(n)d 类。"),
                code="password_classes", params={"n": self.min_classes})

    def get_help_text(self):
        return _("密码须包含大写字母、小写字母、数字、特殊字符中的至少 %(n)d 类。") % {"n": self.min_classes}


class PasswordHistoryValidator:
    """等保 password rule: none of the account's last N passwords (the current one included)
    may be chosen again. The hashes are kept in PasswordHistory."""

    def __init__(self, history: int = 5):
        self.history = history

    def validate(self, password, user=None):
        from django.contrib.auth.hashers import check_password

        if not self.history or user is None or not getattr(user, "pk", None):
            return
        from .models import PasswordHistory, User

        current = User.objects.filter(pk=user.pk).values_list("password", flat=True).first()
        hashes = [h for h in [current, *PasswordHistory.recent(user)[:self.history]] if h]
        if any(check_password(password, h) for h in dict.fromkeys(hashes)):
            raise ValidationError(
                _("不能使用最近 %(n)d 次用过的密码。"), code="password_reused",
                params={"n": self.history})

    def get_help_text(self):
        return _("不能使用最近 %(n)d 次用过的密码。") % {"n": self.history}
