"""Forms of the letters' admin screens: the handling actions on a letter, bulk assignment, and
the 答复模板 / 信箱 / 办理时限 model forms. Every action is carried out by
`jiyue.letters.services`; these forms only check the input (Chinese messages)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from jiyue.accounts import policy as account_policy

from . import policy
from .models import LetterType

MAX_NOTE = 2000
MAX_REPLY = 5000


def _text(value) -> str:
    return str(value or "").replace("\x00", "").strip()


class _OrganisationChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return "　" * max(obj.depth - 1, 0) + obj.name


class NoteForm(forms.Form):
    note = forms.CharField(label=_("说明"), required=False, max_length=MAX_NOTE,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def clean_note(self):
        return _text(self.cleaned_data.get("note"))


class RequiredNoteForm(NoteForm):
    """不予受理 (the reason) and 审核退回 (the reviewer's opinion) need a note."""

    message = _("请填写理由。")

    def clean_note(self):
        note = _text(self.cleaned_data.get("note"))
        if not note:
            raise forms.ValidationError(self.message)
        return note


class RejectForm(RequiredNoteForm):
    message = _("请填写不予受理的理由。")


class ReturnForm(RequiredNoteForm):
    message = _("请填写退回意见。")


class RouteForm(NoteForm):
    """转办 (to the responsible organisation or one below it) and 转交 (any other one)."""

    to_organisation = _OrganisationChoice(label=_("承办单位"), queryset=None,
                                          error_messages={"required": _("请选择承办单位。"),
                                                          "invalid_choice": _("不能转至该单位。")})

    def __init__(self, *args, queryset=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_organisation"].queryset = queryset


class DraftForm(forms.Form):
    reply = forms.CharField(label=_("答复内容"), max_length=MAX_REPLY,
                            widget=forms.Textarea(attrs={"rows": 10}),
                            error_messages={"required": _("请填写答复内容。"),
                                            "max_length": _("答复内容不能超过5000个字。")})

    def clean_reply(self):
        reply = _text(self.cleaned_data.get("reply"))
        if not reply:
            raise forms.ValidationError(_("请填写答复内容。"))
        return reply


class ApproveForm(NoteForm):
    """审核通过: the reviewer may correct the draft while approving."""

    reply = forms.CharField(label=_("答复内容"), required=False, max_length=MAX_REPLY,
                            widget=forms.Textarea(attrs={"rows": 10}),
                            error_messages={"max_length": _("答复内容不能超过5000个字。")})

    def clean_reply(self):
        return _text(self.cleaned_data.get("reply"))


class ExtensionRequestForm(forms.Form):
    days = forms.IntegerField(label=_("延期（工作日）"), min_value=1, max_value=20,
                              error_messages={"required": _("请填写延期的工作日数。"),
                                              "invalid": _("请填写延期的工作日数。"),
                                              "min_value": _("延期须为1至20个工作日。"),
                                              "max_value": _("延期须为1至20个工作日。")})
    reason = forms.CharField(label=_("延期理由"), max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": _("请填写延期理由。"),
                                             "max_length": _("延期理由不能超过1000个字。")})

    def clean_reason(self):
        reason = _text(self.cleaned_data.get("reason"))
        if not reason:
            raise forms.ValidationError(_("请填写延期理由。"))
        return reason


class ExtensionDecisionForm(NoteForm):
    decision = forms.ChoiceField(label=_("审批"), choices=[("approve", _("批准")), ("refuse", _("不批准"))],
                                 error_messages={"required": _("请选择是否批准。"),
                                                 "invalid_choice": _("请选择是否批准。")})
    extension = forms.IntegerField(widget=forms.HiddenInput,
                                   error_messages={"required": _("延期申请不存在。"),
                                                   "invalid": _("延期申请不存在。")})


class BulkAssignForm(forms.Form):
    letters = forms.TypedMultipleChoiceField(label=_("信件"), coerce=int, choices=(),
                                             error_messages={"required": _("请勾选要转办的信件。"),
                                                             "invalid_choice": _("所选信件不存在。")})
    to_organisation = _OrganisationChoice(label=_("转办至"), queryset=None,
                                          error_messages={"required": _("请选择承办单位。"),
                                                          "invalid_choice": _("不能转至该单位。")})

    def __init__(self, *args, letter_ids=(), queryset=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["letters"].choices = [(pk, pk) for pk in letter_ids]
        self.fields["to_organisation"].queryset = queryset


# --- model forms ----------------------------------------------------------------------------

class ReplyTemplateForm(WagtailAdminModelForm):
    """Offers the organisations the user dispatches for; platform-wide (no organisation) only
    to the operator."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.for_user
        field = self.fields.get("organisation")
        if field is None or user is None:
            return
        from jiyue.platform.models import Organisation

        ids = policy.template_organisation_ids(user)
        field.queryset = Organisation.objects.filter(pk__in=ids).order_by("path")
        field.required = not policy.can_manage_template(user, None)
        if field.required and len(ids) == 1 and not self.instance.pk:
            self.initial.setdefault("organisation", next(iter(ids)))

    def clean_title(self):
        title = _text(self.cleaned_data.get("title"))
        if not title:
            raise forms.ValidationError(_("请填写模板名称。"))
        return title

    def clean_body(self):
        body = _text(self.cleaned_data.get("body"))
        if not body:
            raise forms.ValidationError(_("请填写模板内容。"))
        if len(body) > MAX_REPLY:
            raise forms.ValidationError(_("模板内容不能超过5000个字。"))
        return body


class MailboxForm(WagtailAdminModelForm):
    """A site administrator's mailboxes live on their sites and go to the site's organisation
    or one below it; the operator may also add mailboxes without a site (12345)."""

    types = forms.MultipleChoiceField(label=_("受理类型"), choices=LetterType.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple,
                                      help_text=_("不选为受理全部类型。"),
                                      error_messages={"invalid_choice": _("来信类型无效。")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.for_user
        if user is None:
            return
        from jiyue.platform.models import Organisation

        sites = policy.mailbox_sites(user).order_by("code")
        if "site" in self.fields:
            self.fields["site"].queryset = sites
            self.fields["site"].required = not account_policy.sees_all_content(user)
        if "organisation" in self.fields and not account_policy.sees_all_content(user):
            paths = list(Organisation.objects.filter(pk__in=sites.values("organisation_id"))
                         .values_list("path", flat=True))
            from django.db.models import Q

            q = Q(pk__in=[])
            for p in paths:
                q |= Q(path__startswith=p)
            self.fields["organisation"].queryset = Organisation.objects.filter(q).order_by("path")
        if self.instance.pk:
            self.initial.setdefault("types", list(self.instance.types or []))

    def clean_name(self):
        name = _text(self.cleaned_data.get("name"))
        if not name:
            raise forms.ValidationError(_("请填写信箱名称。"))
        return name

    def clean(self):
        data = super().clean()
        site, org = data.get("site"), data.get("organisation")
        if site is not None and org is not None and not org.path.startswith(site.organisation.path):
            self.add_error("organisation", _("受理单位须为该站点的机构或其下级机构。"))
        return data

    def save(self, commit=True):
        self.instance.types = list(self.cleaned_data.get("types") or [])
        return super().save(commit=commit)


class DeadlineRuleForm(WagtailAdminModelForm):
    def clean(self):
        data = super().clean()
        reply, warn = data.get("reply_days"), data.get("warn_days")
        if reply is not None and not 1 <= reply <= 60:
            self.add_error("reply_days", _("答复时限须为1至60个工作日。"))
        if reply is not None and warn is not None and warn >= reply:
            self.add_error("warn_days", _("提醒须早于答复期限（小于答复时限）。"))
        return data
