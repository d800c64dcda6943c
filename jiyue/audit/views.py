"""审计日志 in the admin: read and export, for the 审计管理员 only."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, time, timedelta

from django import forms
from django.db.models import Q
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from jiyue.accounts import policy
from jiyue.core.admin_views import AdminPage, paginate

from . import export, record
from .models import AuditEntry

ADDRESS_CHARS = re.compile(r"^[0-9A-Fa-f:.]+$")


def can_read(user) -> bool:
    return policy.can_read_audit(user)


class AuditFilterForm(forms.Form):
    since = forms.DateField(label=gettext_lazy("起始日期"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("截止日期"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    user = forms.CharField(label=gettext_lazy("用户"), required=False, max_length=150,
                           help_text=gettext_lazy("用户名的一部分，或用户假名"))
    organisation = forms.ModelChoiceField(label=gettext_lazy("机构"), required=False, queryset=None,
                                          empty_label=gettext_lazy("全部"))
    action = forms.CharField(label=gettext_lazy("事件类型"), required=False, max_length=100,
                             widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如 resource. 或 auth.login")}))
    outcome = forms.ChoiceField(label=gettext_lazy("结果"), required=False)
    object = forms.CharField(label=gettext_lazy("对象"), required=False, max_length=255)
    source = forms.CharField(label=gettext_lazy("来源地址"), required=False, max_length=45)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from jiyue.platform.models import Organisation

        self.fields["organisation"].queryset = Organisation.objects.order_by("path")
        self.fields["outcome"].choices = [("", _("全部")), *AuditEntry.OUTCOMES]

    def clean_source(self):
        value = self.cleaned_data["source"].strip()
        if value and not ADDRESS_CHARS.match(value):
            raise forms.ValidationError(_("来源地址只能包含数字、字母 a–f、点和冒号。"))
        return value

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("起始日期不能晚于截止日期。"))
        return data

    def filter(self, qs):
        d = self.cleaned_data
        tz = timezone.get_current_timezone()
        if d.get("since"):
            qs = qs.filter(at__gte=datetime.combine(d["since"], time.min, tzinfo=tz))
        if d.get("until"):
            qs = qs.filter(at__lt=datetime.combine(d["until"] + timedelta(days=1), time.min, tzinfo=tz))
        if d.get("user"):
            ref = d["user"].strip().lstrip("~")
            qs = qs.filter(Q(actor_name__icontains=d["user"].strip()) | Q(actor_ref=ref))
        if d.get("organisation"):
            qs = qs.filter(organisation_id=d["organisation"].pk)
        if d.get("action"):
            qs = qs.filter(action__startswith=d["action"].strip())
        if d.get("outcome"):
            qs = qs.filter(outcome=d["outcome"])
        if d.get("object"):
            value = d["object"].strip()
            qs = qs.filter(Q(object_repr__icontains=value) | Q(object_id=value))
        if d.get("source"):
            try:
                qs = qs.filter(source_address=ipaddress.ip_address(d["source"]).compressed)
            except ValueError:
                qs = qs.filter(source_address__startswith=d["source"])
        return qs

    def describe(self) -> dict:
        """The filter, for the audit entry of an export."""
        return {k: (str(v.pk) if hasattr(v, "pk") else str(v)) for k, v in self.cleaned_data.items() if v}


class _Denied(AdminPage):
    template_name = "audit/admin/denied.html"
    page_title = gettext_lazy("审计日志")
    header_icon = "history"


def denied(request, action: str):
    """Only the 审计管理员 reads the log: others get 403, and the attempt is audited."""
    record(request.user, None, None, action, _("审计日志"), outcome=AuditEntry.OUTCOME_DENIED,
           object_type="audit.auditentry")
    response = _Denied.as_view()(request)
    response.status_code = 403
    return response


class AuditLogView(AdminPage):
    """Read-only: the audit administrator (审计管理员) reviews what everyone did."""

    template_name = "audit/admin/audit.html"
    page_title = gettext_lazy("审计日志")
    header_icon = "history"

    def dispatch(self, request, *args, **kwargs):
        if not can_read(request.user):
            return denied(request, "audit.view")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        form = AuditFilterForm(self.request.GET or None)
        qs = AuditEntry.objects.select_related("organisation").order_by("-id")
        if form.is_bound and form.is_valid():
            qs = form.filter(qs)
        elif form.is_bound:
            qs = qs.none()
        pages = paginate(self.request, qs, 100)
        return {**super().get_context_data(**kwargs), **pages, "form": form,
                "export_url": f"{reverse('jiyue_audit_export')}?{pages['query']}"}


class AuditExportView(View):
    """The current filter as CSV (UTF-8 with BOM, streamed). Every export is audited."""

    def get(self, request, *args, **kwargs):
        if not can_read(request.user):
            return denied(request, "audit.export")
        form = AuditFilterForm(request.GET)
        if not form.is_valid():
            return HttpResponseRedirect(f"{reverse('jiyue_audit')}?{request.GET.urlencode()}")
        qs = form.filter(AuditEntry.objects.order_by("id"))
        record(request.user, None, None, "audit.export", _("审计日志 CSV"),
               object_type="audit.auditentry", filters=form.describe(), count=qs.count())
        response = StreamingHttpResponse(export.lines(qs), content_type="text/csv; charset=utf-8")
        name = timezone.localtime().strftime("audit-%Y%m%d-%H%M%S.csv")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response
