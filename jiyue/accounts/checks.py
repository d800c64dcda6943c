"""Deployment checks (`jiyue check --deploy`): no superuser and no demo account in production."""

from django.conf import settings
from django.core.checks import Warning, register
from django.db import DatabaseError
from django.utils.translation import gettext as _


@register(deploy=True)
def no_superuser_in_production(app_configs=None, **kwargs):
    if getattr(settings, "JIYUE_DEMO", False):
        return []
    from .models import User

    try:
        superusers = list(User.objects.filter(is_superuser=True).values_list("username", flat=True)[:5])
        demo = User.objects.filter(is_demo=True).count()
    except DatabaseError:  # not migrated yet: nothing to check
        return []
    out = []
    if superusers:
        out.append(Warning(
            _("生产平台存在超级用户：%(names)s。超级用户只用于演示和测试；请改用三员账号并停用或删除它们。")
            % {"names": _("、").join(superusers)}, id="jiyue.W101"))
    if demo:
        out.append(Warning(
            _("生产平台存在 %(n)d 个演示账号；它们在非演示平台上不能登录，请删除。") % {"n": demo},
            id="jiyue.W102"))
    return out
