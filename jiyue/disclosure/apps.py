from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisclosureConfig(AppConfig):
    name = "jiyue.disclosure"
    label = "disclosure"
    verbose_name = _("依申请公开")
