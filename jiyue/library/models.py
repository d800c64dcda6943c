"""The unified information resource library (统一信息资源库).

Every resource is one row of `Resource` plus a row of its kind's table (multi-table
inheritance, like Wagtail pages): `PolicyDocument`, `Article`, `Interpretation`,
`ServiceGuide`, `FileResource`, `ImageResource`, `LinkResource`. A new kind is a new subclass
registered with `jiyue.library.kinds.register` in any app; the core does not change.
Sites show resources through `Placement` rows; the resource itself is never copied.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalManyToManyField
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import (FieldPanel, MultiFieldPanel, ObjectList, PublishingPanel,
                                  TabbedInterface)
from wagtail.fields import RichTextField
from wagtail.models import (DraftStateMixin, LockableMixin, PreviewableMixin, RevisionMixin,
                            WorkflowMixin)
from wagtail.search import index

from . import docnumber
from .sanitize import clean_html


class Classification(models.Model):
    """Managed vocabularies: 主题分类, 体裁分类, 服务对象 (seeded with the national lists)."""

    SCHEMES = [("topic", _("主题分类")), ("genre", _("体裁分类")), ("audience", _("服务对象"))]
    scheme = models.CharField(_("分类体系"), max_length=10, choices=SCHEMES)
    name = models.CharField(_("名称"), max_length=60)
    parent = models.ForeignKey("self", verbose_name=_("上级"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    sort_order = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("分类")
        verbose_name_plural = _("分类")
        ordering = ["scheme", "sort_order", "name"]
        constraints = [models.UniqueConstraint("scheme", Coalesce("parent", 0), "name",
                                               name="classification_unique")]

    def __str__(self):
        return f"{self.parent.name}\\{self.name}" if self.parent_id else self.name

    def clean(self):
        if self.parent_id and self.parent.scheme != self.scheme:
            raise ValidationError({"parent": _("上级分类必须属于同一分类体系。")})


class IndexNumberSequence(models.Model):
    """The serial counter behind 索引号: one row per organisation code and period."""

    org_code = models.CharField(max_length=32)
    period = models.CharField(max_length=8)  # "2025" or "202511"
    last_serial = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org_code", "period"],
                                               name="indexno_seq_unique")]


def resource_panels(kind_panels: list, *, directory: bool = True) -> TabbedInterface:
    """The editing form of a resource kind: its own fields between the common ones. The
    publish time is never an editable field (a faked date fails the national inspection);
    scheduling lives in Wagtail's publishing panel."""
    from django import forms

    classification = [FieldPanel("topic"), FieldPanel("audience", widget=forms.CheckboxSelectMultiple),
                      FieldPanel("sharing"), FieldPanel("disclosure")]
    if directory:
        classification.append(FieldPanel("in_directory"))
    return TabbedInterface([
        ObjectList([FieldPanel("organisation"), FieldPanel("title"), FieldPanel("summary"),
                    FieldPanel("keywords"),
                    MultiFieldPanel([FieldPanel("source"), FieldPanel("author")], heading=_("来源")),
                    *kind_panels, FieldPanel("place_in")], heading=_("内容")),
        ObjectList(classification, heading=_("分类与公开")),
        ObjectList([PublishingPanel()], heading=_("定时发布")),
    ])


class Resource(WorkflowMixin, DraftStateMixin, LockableMixin, RevisionMixin, PreviewableMixin,
               index.Indexed, ClusterableModel):
    SHARING = [("all", _("无条件共享")), ("request", _("有条件共享（需申请）")), ("none", _("不予共享"))]
    DISCLOSURE = [("active", _("主动公开")), ("request", _("依申请公开")), ("none", _("不公开"))]

    kind = models.CharField(_("类型"), max_length=20, editable=False, db_index=True)
    global_id = models.CharField(_("全局标识"), max_length=64, unique=True, null=True,
                                 editable=False)
    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("所属机构"),
                                     on_delete=models.PROTECT, related_name="resources")
    title = models.CharField(_("标题"), max_length=255)
    summary = models.TextField(_("内容概述"), blank=True)
    keywords = models.CharField(_("关键词"), max_length=255, blank=True,
                                help_text=_("多个关键词用逗号分隔。"))
    source = models.CharField(_("信息来源"), max_length=100, blank=True)
    author = models.CharField(_("作者"), max_length=60, blank=True)
    topic = models.ForeignKey(Classification, verbose_name=_("主题分类"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+",
                              limit_choices_to={"scheme": "topic"})
    audience = ParentalManyToManyField(Classification, verbose_name=_("服务对象"), blank=True,
                                       related_name="+", limit_choices_to={"scheme": "audience"})
    sharing = models.CharField(_("共享属性"), max_length=10, choices=SHARING, default="all")
    disclosure = models.CharField(_("公开方式"), max_length=10, choices=DISCLOSURE,
                                  default="active")
    in_directory = models.BooleanField(
        _("列入政府信息公开目录"), default=False,
        help_text=_("列入目录的信息在首次发布时自动生成索引号。"))
    index_number = models.CharField(_("索引号"), max_length=64, unique=True, null=True,
                                    blank=True, editable=False)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True,
                                   blank=True, editable=False, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    _revisions = GenericRelation("wagtailcore.Revision", related_query_name="resource")

    kind_code = "resource"
    rich_text_fields: tuple[str, ...] = ()
    # Resources of kinds listed here always belong in the disclosure directory.
    always_in_directory = False

    search_fields = [index.SearchField("title"), index.SearchField("summary"),
                     index.FilterField("organisation_id"), index.FilterField("kind"),
                     index.FilterField("live")]

    class Meta:
        verbose_name = _("信息资源")
        verbose_name_plural = _("信息资源")
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["organisation", "kind", "live"])]

    def __str__(self):
        return self.title

    @property
    def revisions(self):
        return self._revisions

    @property
    def specific(self) -> "Resource":
        """This resource as an instance of its kind's model."""
        from .kinds import kinds

        model = kinds().get(self.kind)
        if model is None or isinstance(self, model):
            return self
        return model._default_manager.get(pk=self.pk)

    def get_kind_label(self):
        return self._meta.verbose_name

    def save(self, *args, **kwargs):
        self.kind = self.kind_code
        for name in self.rich_text_fields:
            setattr(self, name, clean_html(getattr(self, name)))
        if self.always_in_directory:
            self.in_directory = True
        creating = self.pk is None
        super().save(*args, **kwargs)
        if creating and not self.global_id:
            from jiyue.core.models import Platform

            self.global_id = f"{Platform.current().code}:{self.pk}"
            Resource.objects.filter(pk=self.pk).update(global_id=self.global_id)

    def get_workflow(self):
        from jiyue.review.services import workflow_for

        return workflow_for(self)

    def get_preview_template(self, request, mode_name, extra_context=None):
        return "library/preview.html"

    @property
    def keyword_list(self) -> list[str]:
        return [k.strip() for k in self.keywords.replace("，", ",").split(",") if k.strip()]


class Article(Resource):
    TYPES = [("news", _("新闻动态")), ("notice", _("通知公告"))]
    article_type = models.CharField(_("文章类型"), max_length=10, choices=TYPES, default="news")
    body = RichTextField(_("正文"))
    edit_handler = resource_panels([FieldPanel("article_type"), FieldPanel("body")])
    kind_code = "article"
    rich_text_fields = ("body",)

    class Meta:
        verbose_name = _("文章")
        verbose_name_plural = _("文章")


class PolicyDocument(Resource):
    VALIDITY = [("valid", _("有效")), ("expired", _("失效")), ("repealed", _("废止"))]
    doc_number = models.CharField(_("文号"), max_length=60, blank=True,
                                  help_text=_("例如 皖政办〔2018〕49号；方括号、圆括号会自动规范为〔〕。"))
    issuing_body = models.CharField(_("发文机关"), max_length=100)
    written_on = models.DateField(_("成文日期"))
    genre = models.ForeignKey(Classification, verbose_name=_("体裁分类"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+",
                              limit_choices_to={"scheme": "genre"})
    validity = models.CharField(_("有效性"), max_length=10, choices=VALIDITY, default="valid")
    effective_on = models.DateField(_("生效日期"), null=True, blank=True)
    expired_on = models.DateField(_("失效/废止日期"), null=True, blank=True)
    body = RichTextField(_("正文"))

    edit_handler = resource_panels([
        MultiFieldPanel([FieldPanel("doc_number"), FieldPanel("issuing_body"),
                         FieldPanel("written_on"), FieldPanel("genre")], heading=_("公文信息")),
        MultiFieldPanel([FieldPanel("validity"), FieldPanel("effective_on"),
                         FieldPanel("expired_on")], heading=_("有效性")),
        FieldPanel("body")], directory=False)
    kind_code = "policy"
    rich_text_fields = ("body",)
    always_in_directory = True

    class Meta:
        verbose_name = _("政策文件")
        verbose_name_plural = _("政策文件")

    def clean(self):
        super().clean()
        errors = {}
        if self.doc_number:
            try:
                self.doc_number = docnumber.validate(self.doc_number,
                                                     max_year=timezone.localdate().year + 1)
            except ValueError as exc:
                errors["doc_number"] = str(exc)
        if self.written_on:
            published = self.published_at or (self.go_live_at if self.go_live_at else None)
            if published and self.written_on > timezone.localtime(published).date():
                errors["written_on"] = _("成文日期不能晚于发布日期。")
            elif not published and self.written_on > timezone.localdate():
                errors["written_on"] = _("成文日期不能晚于发布日期（今天）。")
        if self.validity in ("expired", "repealed") and not self.expired_on:
            errors["expired_on"] = _("失效或废止的文件须填写失效/废止日期。")
        if self.validity == "valid" and self.expired_on and self.expired_on < timezone.localdate():
            errors["validity"] = _("失效日期已过，有效性应为“失效”或“废止”。")
        if self.effective_on and self.expired_on and self.expired_on < self.effective_on:
            errors["expired_on"] = _("失效日期不能早于生效日期。")
        if errors:
            raise ValidationError(errors)


class Interpretation(Resource):
    FORMS = [("text", _("文字解读")), ("graphic", _("图文解读")), ("expert", _("专家解读")),
             ("video", _("视频解读"))]
    interprets = models.ForeignKey(PolicyDocument, verbose_name=_("解读的文件"),
                                   on_delete=models.PROTECT, related_name="interpretations")
    form = models.CharField(_("解读形式"), max_length=10, choices=FORMS, default="text")
    body = RichTextField(_("正文"))
    edit_handler = resource_panels([FieldPanel("interprets"), FieldPanel("form"), FieldPanel("body")])
    kind_code = "interpretation"
    rich_text_fields = ("body",)

    class Meta:
        verbose_name = _("政策解读")
        verbose_name_plural = _("政策解读")


class ServiceGuide(Resource):
    """办事指南 with every element the inspection checks."""

    legal_basis = models.TextField(_("设定依据"), blank=True)
    agency = models.CharField(_("受理机构"), max_length=100, blank=True)
    applicants = models.CharField(_("办理对象"), max_length=200, blank=True)
    conditions = RichTextField(_("申请条件"), blank=True)
    materials = RichTextField(_("办理材料"), blank=True)
    process = RichTextField(_("办理流程"), blank=True)
    location = models.CharField(_("办理地点"), max_length=200, blank=True)
    hours = models.CharField(_("办理时间"), max_length=200, blank=True)
    promised_limit = models.CharField(_("承诺办结时限"), max_length=60, blank=True)
    statutory_limit = models.CharField(_("法定办结时限"), max_length=60, blank=True)
    fees = models.TextField(_("收费标准及依据"), blank=True)
    consult_phone = models.CharField(_("咨询电话"), max_length=60, blank=True)
    complaint_phone = models.CharField(_("监督投诉电话"), max_length=60, blank=True)
    online_url = models.URLField(_("网上办理入口"), blank=True)
    forms = models.TextField(_("表格下载"), blank=True, help_text=_("每行一个表格名称。"))

    edit_handler = resource_panels([
        MultiFieldPanel([FieldPanel("legal_basis"), FieldPanel("agency"), FieldPanel("applicants"),
                         FieldPanel("conditions"), FieldPanel("materials"), FieldPanel("process")],
                        heading=_("事项要素")),
        MultiFieldPanel([FieldPanel("location"), FieldPanel("hours"), FieldPanel("promised_limit"),
                         FieldPanel("statutory_limit"), FieldPanel("fees")], heading=_("办理安排")),
        MultiFieldPanel([FieldPanel("consult_phone"), FieldPanel("complaint_phone"),
                         FieldPanel("online_url"), FieldPanel("forms")], heading=_("咨询与入口"))])
    kind_code = "guide"
    rich_text_fields = ("conditions", "materials", "process")
    KEY_ELEMENTS = ["legal_basis", "agency", "applicants", "conditions", "materials", "process",
                    "location", "hours", "statutory_limit", "fees", "consult_phone",
                    "complaint_phone"]

    class Meta:
        verbose_name = _("办事指南")
        verbose_name_plural = _("办事指南")

    def missing_elements(self) -> list[str]:
        return [str(self._meta.get_field(f).verbose_name) for f in self.KEY_ELEMENTS
                if not (getattr(self, f) or "").strip()]


class FileResource(Resource):
    document = models.ForeignKey("wagtaildocs.Document", verbose_name=_("文件"),
                                 on_delete=models.PROTECT, related_name="+")
    edit_handler = resource_panels([FieldPanel("document")])
    kind_code = "file"

    class Meta:
        verbose_name = _("文件")
        verbose_name_plural = _("文件")


class ImageResource(Resource):
    image = models.ForeignKey("wagtailimages.Image", verbose_name=_("图片"),
                              on_delete=models.PROTECT, related_name="+")
    alt = models.CharField(_("替代文字"), max_length=200,
                           help_text=_("为视障用户描述图片内容（无障碍要求）。"))
    caption = models.CharField(_("图片说明"), max_length=255, blank=True)
    edit_handler = resource_panels([FieldPanel("image"), FieldPanel("alt"), FieldPanel("caption")])
    kind_code = "image"

    class Meta:
        verbose_name = _("图片")
        verbose_name_plural = _("图片")


class LinkResource(Resource):
    url = models.URLField(_("链接地址"))
    open_in_new_window = models.BooleanField(_("新窗口打开"), default=True)
    edit_handler = resource_panels([FieldPanel("url"), FieldPanel("open_in_new_window")])
    kind_code = "link"

    class Meta:
        verbose_name = _("链接")
        verbose_name_plural = _("链接")


class Placement(models.Model):
    """A resource shown in a column of a site (引用)."""

    LIVE, SCHEDULED, WITHDRAWN = "live", "scheduled", "withdrawn"
    OFFERED, REQUESTED, REFUSED = "offered", "requested", "refused"
    STATES = [(LIVE, _("已上线")), (SCHEDULED, _("定时上线")), (WITHDRAWN, _("已撤下")),
              (OFFERED, _("待接收（推送）")), (REQUESTED, _("待批准（申请引用）")),
              (REFUSED, _("已拒绝"))]

    resource = models.ForeignKey(Resource, verbose_name=_("信息资源"), on_delete=models.CASCADE,
                                 related_name="placements")
    column = models.ForeignKey("platform.Column", verbose_name=_("栏目"),
                               on_delete=models.CASCADE, related_name="placements")
    site = models.ForeignKey("platform.Site", verbose_name=_("站点"), on_delete=models.CASCADE,
                             related_name="placements", editable=False)
    state = models.CharField(_("状态"), max_length=10, choices=STATES, default=LIVE)
    sort_order = models.IntegerField(_("排序"), default=0)
    pinned = models.BooleanField(_("置顶"), default=False)
    go_live_at = models.DateTimeField(_("定时上线时间"), null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True,
                                     blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("处理人"), null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("说明"), max_length=255, blank=True)
    # The resource's 发布时间, copied here so that a column's newest items come from an index
    # (kept equal by save() and library.services.after_publish).
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("引用")
        verbose_name_plural = _("引用")
        ordering = ["-pinned", "sort_order", "-id"]
        constraints = [models.UniqueConstraint(fields=["resource", "column"],
                                               name="placement_once_per_column")]
        indexes = [models.Index(fields=["column", "state", "published_at", "resource"]),
                   models.Index(fields=["site", "pinned"]),
                   models.Index(fields=["site", "state", "published_at", "resource"])]

    def save(self, *args, **kwargs):
        if self.resource_id:
            self.published_at = Resource.objects.filter(pk=self.resource_id) \
                .values_list("published_at", flat=True).first()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "published_at"}
        super().save(*args, **kwargs)

    def __str__(self):
        return f"{self.resource} → {self.site} / {self.column.title}"

    @property
    def is_public(self) -> bool:
        return self.state == self.LIVE and self.resource.live

    @property
    def effective_state(self) -> str:
        if self.state == self.LIVE and not self.resource.live:
            return "unpublished"
        return self.state
