"""The FAQ entry form of the admin (问答知识库, and 转为问答知识 from the question log)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from jiyue.accounts import policy

MAX_ANSWER = 20000


class FaqForm(WagtailAdminModelForm):
    """Offers only the organisations the user manages; platform level (no organisation) only to
    the platform operator."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.for_user
        field = self.fields.get("organisation")
        if field is None or user is None:
            return
        from jiyue.platform.models import Organisation

        ids = policy.faq_organisation_ids(user)
        field.queryset = Organisation.objects.filter(pk__in=ids).order_by("path")
        field.required = not policy.can_manage_faq(user, None)
        if field.required:
            field.help_text = _("知识归属的机构；本机构站点及其上级门户的智能问答使用。")
            if len(ids) == 1 and not self.instance.pk:
                self.initial.setdefault("organisation", next(iter(ids)))
        for name in ("question", "answer"):
            if name in self.fields:
                self.fields[name].widget.attrs.setdefault("rows", 3 if name == "question" else 8)

    def clean_answer(self):
        answer = (self.cleaned_data.get("answer") or "").replace("\x00", "").strip()
        if not answer:
            raise forms.ValidationError(_("请填写答案。"))
        if len(answer) > MAX_ANSWER:
            raise forms.ValidationError(_("答案不能超过 %(n)s 个字。") % {"n": MAX_ANSWER})
        return answer

    def clean_question(self):
        question = (self.cleaned_data.get("question") or "").replace("\x00", "").strip()
        if len(question) > 500:
            raise forms.ValidationError(_("问题不能超过 500 个字。"))
        return question
