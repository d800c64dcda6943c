from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewConfig(AppConfig):
    name = "jiyue.review"
    label = "review"
    verbose_name = _("审核流程")
