"""Search: the government dictionary, synonyms, query statistics, replicas, extracted text.

The index itself is not in the database: every node keeps a tantivy index replica on disk
(`settings.JIYUE_SEARCH_DIR`), following the outbox with a cursor stored beside the index.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DictionaryTerm(models.Model):
    """A word of the government dictionary added by the platform operator (on top of the
    dictionary shipped in `search/data/gov_dict.txt` and jieba's own)."""

    word = models.CharField(_("词语"), max_length=40, unique=True)
    freq = models.PositiveIntegerField(_("词频"), null=True, blank=True,
                                       help_text=_("留空则自动确定，保证该词能被切分出来。"))
    note = models.CharField(_("说明"), max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("添加人"), null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("添加时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("政务词典词语")
        verbose_name_plural = _("政务词典")
        ordering = ["word"]

    def __str__(self):
        return self.word


class SynonymGroup(models.Model):
    """Words that mean the same for search: 社保,社会保险 (a query for one also finds the
    others). An abbreviation group lists the short form first."""

    SYNONYM, ABBREVIATION = "synonym", "abbreviation"
    KINDS = [(SYNONYM, _("同义词")), (ABBREVIATION, _("简称"))]
    terms = models.CharField(_("词语"), max_length=500,
                             help_text=_("用逗号分隔，如：社保,社会保险；简称写在最前。"))
    kind = models.CharField(_("类型"), max_length=12, choices=KINDS, default=SYNONYM)
    enabled = models.BooleanField(_("启用"), default=True)
    note = models.CharField(_("说明"), max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("添加人"), null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("添加时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("同义词")
        verbose_name_plural = _("同义词")
        ordering = ["terms"]

    def __str__(self):
        return self.terms

    def words(self) -> list[str]:
        return [w.strip() for w in self.terms.replace("，", ",").split(",") if w.strip()]


class QueryStat(models.Model):
    """How often a (normalised) query was asked per day and site, and how often it found
    nothing: popular queries feed completion, zero-result queries go to the operator."""

    day = models.DateField(_("日期"), db_index=True)
    site_code = models.CharField(_("站点"), max_length=32, blank=True)
    query = models.CharField(_("搜索词"), max_length=100)
    count = models.PositiveIntegerField(_("次数"), default=0)
    zero_count = models.PositiveIntegerField(_("无结果次数"), default=0)
    last_total = models.IntegerField(_("最近结果数"), default=0)
    last_at = models.DateTimeField(_("最近搜索时间"), null=True, blank=True)
    handled = models.BooleanField(_("已处理"), default=False)

    class Meta:
        verbose_name = _("搜索统计")
        verbose_name_plural = _("搜索统计")
        constraints = [models.UniqueConstraint(fields=["day", "site_code", "query"],
                                               name="search_querystat_unique")]
        indexes = [models.Index(fields=["query"])]


class Replica(models.Model):
    """What each node's index replica reports (a heartbeat for the admin and the two-node
    check): its outbox cursor, its document count, a rebuild's progress, its last error."""

    node = models.CharField(_("节点"), max_length=100, unique=True)
    last_event_id = models.BigIntegerField(_("已处理事件"), default=0)
    documents = models.IntegerField(_("文档数"), default=0)
    state = models.CharField(_("状态"), max_length=12, default="ok")  # ok / rebuilding / error
    progress_done = models.IntegerField(default=0)
    progress_total = models.IntegerField(default=0)
    error = models.TextField(_("错误"), blank=True)
    synced_at = models.DateTimeField(_("同步时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("索引副本")
        verbose_name_plural = _("索引副本")
        ordering = ["node"]


class AttachmentText(models.Model):
    """Text extracted from an attachment (PDF, DOCX), by the file's SM3 digest, so each file
    is extracted once however many resources and nodes index it."""

    digest = models.CharField(max_length=64, primary_key=True)
    text = models.TextField(blank=True)
    error = models.CharField(max_length=200, blank=True)
    extracted_at = models.DateTimeField(auto_now=True)
