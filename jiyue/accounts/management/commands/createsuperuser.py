"""`createsuperuser` only on a demo or debug platform: production has no superuser; `jiyue
setup` creates the three administrators (三员) instead."""

from django.conf import settings
from django.contrib.auth.management.commands import createsuperuser
from django.core.management.base import CommandError
from django.utils.translation import gettext


class Command(createsuperuser.Command):
    def handle(self, *args, **options):
        if not (getattr(settings, "JIYUE_DEMO", False) or settings.DEBUG):
            raise CommandError(gettext(
                "生产平台不设超级用户（三员分立）。请用 jiyue setup 创建系统管理员、安全管理员、"
                "审计管理员；超级用户只能在演示平台（JIYUE_DEMO）或调试模式下创建。"))
        return super().handle(*args, **options)
