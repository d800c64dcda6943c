"""Organisations, sites and columns."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.models import Page

from . import validators as v


class Organisation(MP_Node):
    """A government body. A tree: the province and its departments, cities, counties."""

    KIND_GOVERNMENT = "government"
    KIND_DEPARTMENT = "department"
    KIND_COUNTY = "county"
    KIND_OFFICE = "office"
    KINDS = [
        (KIND_GOVERNMENT, _("人民政府")),
        (KIND_DEPARTMENT, _("政府部门")),
        (KIND_COUNTY, _("县（市、区）政府")),
        (KIND_OFFICE, _("办事机构")),
    ]

    name = models.CharField(_("机构名称"), max_length=100, unique=True)
    short_name = models.CharField(
        _("发文简称"), max_length=20, blank=True,
        help_text=_("文号中使用的机构代字，例如 皖财。"))
    code = models.CharField(
        _("机构代码"), max_length=18, unique=True, validators=[v.validate_org_code],
        help_text=_("统一社会信用代码（18 位）或组织机构代码（9 位），用于生成索引号。"))
    kind = models.CharField(_("机构类型"), max_length=12, choices=KINDS, default=KIND_DEPARTMENT)
    region_code = models.CharField(
        _("行政区划代码"), max_length=6, validators=[RegexValidator(r"^\d{6}$")])
    key = models.SlugField(_("英文标识"), max_length=40, unique=True,
                           help_text=_("用于地址和接口的简短标识，例如 czt。"))

    node_order_by = ["name"]

    panels = [FieldPanel("name"), FieldPanel("short_name"), FieldPanel("code"),
              FieldPanel("kind"), FieldPanel("region_code"), FieldPanel("key")]

    class Meta:
        verbose_name = _("机构")
        verbose_name_plural = _("机构")

    def __str__(self):
        return self.name

    def clean(self):
        if self.code:
            self.code = self.code.strip().upper()


class Site(models.Model):
    """One government website: its identity, footer facts and column tree."""

    LEVELS = [("province", _("省级")), ("city", _("市级")), ("county", _("县级"))]
    KINDS = [("portal", _("政府门户网站")), ("department", _("部门网站"))]
    STATE_BUILDING, STATE_RUNNING, STATE_MIGRATING, STATE_CLOSED = "building", "running", "migrating", "closed"
    STATES = [(STATE_BUILDING, _("建设中")), (STATE_RUNNING, _("运行")),
              (STATE_MIGRATING, _("迁移中")), (STATE_CLOSED, _("关停"))]
    CONAC = [("red", _("党政机关（红色标识）")), ("blue", _("事业单位（蓝色标识）"))]

    name = models.CharField(_("网站名称"), max_length=100)
    organisation = models.OneToOneField(
        Organisation, verbose_name=_("主办机构"), on_delete=models.PROTECT, related_name="site",
        help_text=_("一个政府机构只能开设一个网站。"))
    level = models.CharField(_("网站层级"), max_length=10, choices=LEVELS)
    kind = models.CharField(_("网站类型"), max_length=12, choices=KINDS)
    domain = models.CharField(_("域名"), max_length=253, unique=True,
                              validators=[v.validate_gov_domain])
    cn_domain = models.CharField(_("中文域名"), max_length=60, blank=True, null=True, unique=True,
                                 validators=[v.validate_cn_domain])
    code = models.CharField(_("网站标识码"), max_length=10, unique=True,
                            validators=[v.validate_site_code])
    sponsor = models.CharField(_("主办单位"), max_length=100)
    operator = models.CharField(_("承办单位"), max_length=100, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    phone = models.CharField(_("联系电话"), max_length=40, blank=True)
    email = models.EmailField(_("电子邮箱"), blank=True)
    icp = models.CharField(_("ICP备案号"), max_length=40, blank=True, validators=[v.validate_icp])
    police_record = models.CharField(_("公安机关备案号"), max_length=60, blank=True,
                                     help_text=_("页面显示的文字，例如 皖公网安备 34010402700001号。"))
    police_record_code = models.CharField(_("公安备案编码"), max_length=14, blank=True,
                                          validators=[v.validate_police_code])
    conac = models.CharField(_("党政机关网站标识"), max_length=5, choices=CONAC, default="red")
    state = models.CharField(_("状态"), max_length=10, choices=STATES, default=STATE_BUILDING)
    theme = models.CharField(_("主题"), max_length=40, default="default")
    colour = models.CharField(
        _("主色"), max_length=7, default="#9f1d20", validators=[v.validate_main_colour],
        help_text=_("网站主色（#RRGGBB），与白色文字的对比度须不低于 4.5:1。"))
    logo = models.ForeignKey("wagtailimages.Image", verbose_name=_("网站标志"), null=True,
                             blank=True, on_delete=models.SET_NULL, related_name="+")
    home = models.OneToOneField("platform.SiteHome", verbose_name=_("首页"), null=True,
                                blank=True, on_delete=models.SET_NULL, related_name="site_record")
    wagtail_site = models.OneToOneField("wagtailcore.Site", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="jiyue_site")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    panels = [
        MultiFieldPanel([FieldPanel("name"), FieldPanel("organisation"), FieldPanel("level"),
                         FieldPanel("kind"), FieldPanel("state")],
                        heading=_("基本信息")),
        MultiFieldPanel([FieldPanel("theme"), FieldPanel("colour"), FieldPanel("logo")],
                        heading=_("外观")),
        MultiFieldPanel([FieldPanel("domain"), FieldPanel("cn_domain"), FieldPanel("code")],
                        heading=_("域名与标识")),
        MultiFieldPanel([FieldPanel("sponsor"), FieldPanel("operator"), FieldPanel("address"),
                         FieldPanel("phone"), FieldPanel("email"), FieldPanel("icp"),
                         FieldPanel("police_record"), FieldPanel("police_record_code"),
                         FieldPanel("conac")], heading=_("页脚信息")),
    ]

    class Meta:
        verbose_name = _("站点")
        verbose_name_plural = _("站点")
        ordering = ["code"]

    def __str__(self):
        return self.name

    @property
    def local_hostname(self) -> str:
        return f"{self.code}.localhost"

    def clean(self):
        self.domain = v.normalise_domain(self.domain)
        if self.cn_domain:
            self.cn_domain = self.cn_domain.strip()
        else:
            self.cn_domain = None
        errors = {}
        if self.icp and not self.police_record_code and self.state == self.STATE_RUNNING:
            errors["police_record_code"] = _("运行中的网站须填写公安机关备案号。")
        if errors:
            raise ValidationError(errors)


class SiteHome(Page):
    """The root of one site's column tree (its home page)."""

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["platform.Column"]
    max_count_per_parent = None

    class Meta:
        verbose_name = _("网站首页")
        verbose_name_plural = _("网站首页")

    @property
    def site(self):
        return Site.objects.filter(home_id=self.pk).first()

    template = "platform/site_home.html"

    def get_context(self, request, *args, **kwargs):
        return {**super().get_context(request, *args, **kwargs), **preview_context(self, self)}


class Column(Page):
    """A column (栏目) of a site: a node of its column tree."""

    # The stored values are the Chinese names themselves (compared against in code and data).
    TYPES = [("信息发布", _("信息发布")), ("解读回应", _("解读回应")), ("办事服务", _("办事服务")),
             ("互动交流", _("互动交流")), ("信息公开", _("信息公开")), ("专题", _("专题")),
             ("外链", _("外链"))]
    INTERVALS = [("news", _("动态类（14 天）")), ("policy", _("通知公告、政策文件类（183 天）")),
                 ("none", _("不要求更新"))]
    INTERVAL_DAYS = {"news": 14, "policy": 183, "none": None}
    LAYOUTS = [("list", _("标题列表")), ("summary", _("标题加摘要")), ("cards", _("图文卡片")),
               ("table", _("公开目录表格")), ("guides", _("办事指南"))]

    column_type = models.CharField(_("栏目类型"), max_length=8, choices=TYPES, default="信息发布")
    description = models.CharField(_("栏目描述"), max_length=255, blank=True)
    keywords = models.CharField(_("栏目关键词"), max_length=255, blank=True)
    update_interval = models.CharField(_("更新要求"), max_length=8, choices=INTERVALS,
                                       default="none")
    list_layout = models.CharField(_("列表样式"), max_length=8, choices=LAYOUTS, default="list")
    external_url = models.URLField(_("外链地址"), blank=True)

    parent_page_types = ["platform.SiteHome", "platform.Column"]
    subpage_types = ["platform.Column"]

    content_panels = Page.content_panels + [
        FieldPanel("column_type"), FieldPanel("description"), FieldPanel("keywords"),
        FieldPanel("update_interval"), FieldPanel("list_layout"), FieldPanel("external_url"),
    ]

    class Meta:
        verbose_name = _("栏目")
        verbose_name_plural = _("栏目")

    def holds_content(self) -> bool:
        """A leaf column that should show resources (not an external link, not a section)."""
        return self.column_type != "外链" and not self.get_children().exists()

    def is_empty(self) -> bool:
        """A content column with nothing published in it (5 or more fail the inspection)."""
        from jiyue.library.services import live_placement_counts

        return self.holds_content() and not live_placement_counts([self.pk])

    def get_admin_display_title(self):
        title = super().get_admin_display_title()
        return _("%(title)s（空栏目）") % {"title": title} if self.is_empty() else title

    @property
    def expected_days(self):
        return self.INTERVAL_DAYS.get(self.update_interval)

    template = "platform/column.html"

    def get_context(self, request, *args, **kwargs):
        home = self.get_ancestors().type(SiteHome).first().specific
        return {**super().get_context(request, *args, **kwargs), **preview_context(home, self)}

    def get_site_record(self) -> Site | None:
        home = self.get_ancestors().type(SiteHome).first()
        return Site.objects.filter(home_id=home.pk).first() if home else None


def preview_context(home: SiteHome, page: Page) -> dict:
    """What the admin preview of a site or column shows: its navigation and newest items."""
    from jiyue.library.services import public_placements

    site = Site.objects.filter(home_id=home.pk).first()
    items = public_placements().select_related("resource")
    items = items.filter(site=site) if isinstance(page, SiteHome) else items.filter(column_id=page.pk)
    return {"site": site, "columns": home.get_children().live().in_menu(),
            "items": items.order_by("-pinned", "-resource__published_at")[:20]}
