"""What the publisher has written, what each page depends on, and what is waiting."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PublishedFile(models.Model):
    """One page of the published tree (its compressed siblings are implied).

    `group` names the planner that owns the page (`home`, `col:<id>`, `r:<id>`, `feed`,
    `sitemap`, `static`); `sig` is a cheap digest of the page's structure (which items it lists,
    its pager), so a planner can tell which pages changed without rendering them; `digest` is
    the SHA-256 of the bytes written.
    """

    site_code = models.CharField(_("网站标识码"), max_length=10)
    path = models.CharField(_("路径"), max_length=255)
    group = models.CharField(max_length=40)
    sig = models.CharField(max_length=32)
    digest = models.CharField(max_length=64)
    size = models.PositiveIntegerField(default=0)
    written_at = models.DateTimeField(_("写入时间"))

    class Meta:
        verbose_name = _("已发布文件")
        verbose_name_plural = _("已发布文件")
        constraints = [models.UniqueConstraint(fields=["site_code", "path"], name="published_path")]
        indexes = [models.Index(fields=["site_code", "group"])]


class PageDep(models.Model):
    """A page shows something of a resource (`r:<id>`): a change to that resource re-renders it."""

    file = models.ForeignKey(PublishedFile, on_delete=models.CASCADE, related_name="deps")
    site_code = models.CharField(max_length=10)
    key = models.CharField(max_length=40)

    class Meta:
        indexes = [models.Index(fields=["site_code", "key"])]


class Dirty(models.Model):
    """Work waiting for the publisher: a key of one site to re-plan (`site` means everything)."""

    site_code = models.CharField(max_length=10)
    key = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Not unique: a key marked again while a run works on it must survive that run, which
        # deletes only the rows it read.
        indexes = [models.Index(fields=["site_code"])]


class SiteState(models.Model):
    """Each site's publishing state, shown in the admin; the lease keeps one publisher per site."""

    site_code = models.CharField(_("网站标识码"), max_length=10, unique=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    last_run_at = models.DateTimeField(_("最近发布"), null=True, blank=True)
    last_full_at = models.DateTimeField(_("最近全量重建"), null=True, blank=True)
    last_rendered = models.PositiveIntegerField(_("最近渲染页数"), default=0)
    last_written = models.PositiveIntegerField(_("最近写入文件数"), default=0)
    last_deleted = models.PositiveIntegerField(_("最近删除文件数"), default=0)
    last_seconds = models.FloatField(_("最近耗时（秒）"), default=0)
    last_error = models.TextField(_("最近错误"), blank=True)
    theme_version = models.CharField(max_length=16, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("站点发布状态")
        verbose_name_plural = _("站点发布状态")
