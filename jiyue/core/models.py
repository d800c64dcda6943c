"""The platform record, the outbox and periodic-job slots."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Platform(models.Model):
    """One deployment of jiyue. Exactly one row; created by `jiyue setup` or `jiyue demo`."""

    LEVEL_PROVINCE = "province"
    LEVEL_CITY = "city"
    LEVELS = [(LEVEL_PROVINCE, _("省级平台")), (LEVEL_CITY, _("市级平台"))]

    code = models.CharField(
        _("平台代码"), max_length=16, unique=True,
        validators=[RegexValidator(r"^[a-z][a-z0-9]{1,15}$", _("平台代码须为 2-16 位小写字母或数字，以字母开头。"))],
        help_text=_("全局标识符的前缀，一经设定不可更改，例如 ah。"),
    )
    name = models.CharField(_("平台名称"), max_length=100)
    level = models.CharField(_("平台层级"), max_length=10, choices=LEVELS)
    region_code = models.CharField(
        _("行政区划代码"), max_length=6,
        validators=[RegexValidator(r"^\d{6}$", _("行政区划代码须为 6 位数字（GB/T 2260）。"))],
    )
    index_number_pattern = models.CharField(
        _("索引号格式"), max_length=60, default="{org}/{year}{month}-{serial:05d}",
        help_text=_("可用字段：{org} 机构代码，{year} 年，{month} 月（两位），{serial} 序号。"
                    "含 {month} 时序号按月编排，否则按年编排。"),
    )
    is_demo = models.BooleanField(_("演示平台"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("平台")
        verbose_name_plural = _("平台")

    def __str__(self):
        return _("%(name)s（%(code)s）") % {"name": self.name, "code": self.code}

    def clean(self):
        from jiyue.library.indexno import validate_pattern

        try:
            validate_pattern(self.index_number_pattern)
        except ValueError as exc:
            raise ValidationError({"index_number_pattern": str(exc)}) from exc

    @classmethod
    def current(cls) -> "Platform":
        platform = cls.objects.order_by("pk").first()
        if platform is None:
            raise Platform.DoesNotExist(_("平台尚未初始化：请先运行 jiyue setup 或 jiyue demo。"))
        return platform


class Event(models.Model):
    """An outbox event: written in the same transaction as the change it describes.

    Schema (documented in docs/outbox.md): `topic` is `<aggregate>.<verb>`, e.g.
    `resource.published`; `aggregate` + `aggregate_id` name the changed object (the global
    identifier for resources); `payload` is a JSON object whose keys are listed per topic.
    """

    id = models.BigAutoField(primary_key=True)
    topic = models.CharField(max_length=64, db_index=True)
    aggregate = models.CharField(max_length=32)
    aggregate_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("外发事件")
        verbose_name_plural = _("外发事件")
        ordering = ["id"]
        indexes = [models.Index(fields=["aggregate", "aggregate_id"])]

    def __str__(self):
        return f"#{self.pk} {self.topic} {self.aggregate}:{self.aggregate_id}"


class ConsumerCursor(models.Model):
    """How far one consumer has read the outbox."""

    consumer = models.CharField(max_length=64, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("消费者游标")
        verbose_name_plural = _("消费者游标")

    def __str__(self):
        return f"{self.consumer} @ {self.last_event_id}"


class PeriodicSlot(models.Model):
    """A claimed run of a periodic job: the unique key makes any number of schedulers safe."""

    job = models.CharField(max_length=100)
    slot = models.DateTimeField()
    enqueued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="periodic_slot_once")]
