from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel

from jiyue.library.models import Resource, resource_panels


class Video(Resource):
    url = models.URLField(_("视频地址"))
    minutes = models.PositiveIntegerField(_("时长（分钟）"), default=0)

    kind_code = "video"
    edit_handler = resource_panels([FieldPanel("url"), FieldPanel("minutes")])

    class Meta:
        verbose_name = _("视频")
        verbose_name_plural = _("视频")
