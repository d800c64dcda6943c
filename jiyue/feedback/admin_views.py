"""互动交流 › 页面评价 and 网站找错 in the admin.

页面评价: the 好/差 results by site, column or organisation, with the share of 好, the reasons,
a daily chart (server-rendered SVG, no script) and the latest 差 with their reasons. Staff with
a role on a site see that site's ratings; the platform operator sees all; the three
administrators none.

网站找错: error reports of the organisations whose interaction work the user does
(`accounts.policy.interaction_organisation_ids`): the dispatcher forwards (转办), the handler
answers (答复); due and overdue marked on the working-day calendar. Refusals and every action
are audited (the services audit the actions).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue import audit
from jiyue.accounts import policy
from jiyue.core.admin_views import AdminPage, paginate
from jiyue.workdays import calendar

from . import services
from .models import ErrorReport, Outcome, Rating, ReportStatus

PERIODS = [(7, gettext_lazy("最近 7 天")), (30, gettext_lazy("最近 30 天")),
           (90, gettext_lazy("最近 90 天")), (365, gettext_lazy("最近一年"))]
GROUPS = [("site", gettext_lazy("按站点")), ("column", gettext_lazy("按栏目")),
          ("organisation", gettext_lazy("按机构"))]
SHOW = [("todo", gettext_lazy("我的待办")), ("soon", gettext_lazy("即将到期")),
        ("overdue", gettext_lazy("已超期")), ("answered", gettext_lazy("已答复")),
        ("all", gettext_lazy("全部"))]


# --- scoping ------------------------------------------------------------------------------------

def rating_sites(user):
    """Sites whose ratings a user reads: any site role there; the operator: all."""
    from jiyue.platform.models import Site

    if policy.sees_all_content(user):
        return Site.objects.all()
    return Site.objects.filter(pk__in={g.site_id for g in policy.grants(user) if g.site_id})


def may_read_ratings(user) -> bool:
    return policy.sees_all_content(user) or any(g.site_id for g in policy.grants(user))


def reports_visible(user):
    return ErrorReport.objects.filter(organisation_id__in=policy.interaction_organisation_ids(user))


def may_handle_reports(user) -> bool:
    return bool(policy.interaction_organisation_ids(user))


def _refuse(request, action: str):
    audit.record(request.user, None, None, action, None, outcome="denied",
                 path=request.path[:200], method=request.method)
    raise PermissionDenied


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# --- 页面评价 ----------------------------------------------------------------------------------

class RatingsView(AdminPage):
    template_name = "feedback/admin/ratings.html"
    page_title = gettext_lazy("页面评价")
    header_icon = "pick"

    def dispatch(self, request, *args, **kwargs):
        if not may_read_ratings(request.user):
            _refuse(request, "feedback.ratings.view")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        request = self.request
        sites = list(rating_sites(request.user).order_by("code").values_list("pk", "name"))
        site = _int(request.GET.get("site"))
        site = site if site in {pk for pk, _n in sites} else 0
        days = _int(request.GET.get("days")) or 30
        days = days if days in dict(PERIODS) else 30
        by = request.GET.get("by", "site")
        by = by if by in dict(GROUPS) else "site"
        qs = Rating.objects.filter(site_id__in=[pk for pk, _n in sites])
        if site:
            qs = qs.filter(site_id=site)
        period = qs.filter(day__gte=timezone.localdate() - timedelta(days=days - 1))
        bad = paginate(request, period.filter(value=Rating.BAD).exclude(reasons=[], comment="")
                       .select_related("site", "resource").order_by("-created_at", "-id"), 20)
        return {**super().get_context_data(**kwargs), **bad, "sites": sites, "site": site,
                "days": days, "periods": PERIODS, "by": by, "groups": GROUPS,
                "summary": services.rating_summary(period),
                "rows": services.rating_groups(period, by)[:100],
                "chart": services.rating_chart(qs, min(days, 90))}


# --- 网站找错 ----------------------------------------------------------------------------------

def _filter(user, qs, show: str, now):
    soon = calendar.add_working_days(now, 1)
    open_q = ~Q(status=ReportStatus.ANSWERED)
    due_q = (Q(status=ReportStatus.NEW) & Q(forward_due__lt=now)) | Q(answer_due__lt=now)
    if show == "todo":
        mine = Q(pk__in=[])
        dispatch = policy.interaction_organisation_ids(user, {"dispatcher"})
        handle = policy.interaction_organisation_ids(user)
        if dispatch or policy.sees_all_content(user):
            mine |= Q(status=ReportStatus.NEW, organisation_id__in=dispatch)
        mine |= Q(status=ReportStatus.FORWARDED, organisation_id__in=handle)
        return qs.filter(mine)
    if show == "soon":
        return qs.filter(open_q).exclude(due_q).filter(
            (Q(status=ReportStatus.NEW) & Q(forward_due__date__lte=soon))
            | Q(answer_due__date__lte=soon))
    if show == "overdue":
        return qs.filter(open_q).filter(due_q | Q(forward_overdue=True, status=ReportStatus.NEW)
                                        | Q(answer_overdue=True))
    if show == "answered":
        return qs.filter(status=ReportStatus.ANSWERED)
    return qs


class ErrorReportsView(AdminPage):
    template_name = "feedback/admin/errors.html"
    page_title = gettext_lazy("网站找错")
    header_icon = "warning"

    def dispatch(self, request, *args, **kwargs):
        if not may_handle_reports(request.user):
            _refuse(request, "feedback.errors.view")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        request, now = self.request, timezone.now()
        show = request.GET.get("show", "todo")
        show = show if show in dict(SHOW) else "todo"
        qs = reports_visible(request.user)
        counts = {key: _filter(request.user, qs, key, now).count() for key, _l in SHOW
                  if key in ("todo", "soon", "overdue")}
        page = paginate(request, _filter(request.user, qs, show, now)
                        .select_related("site", "organisation").order_by("answer_due", "id"))
        for r in page["page"]:
            r.due = services.due_state(r, now)
        return {**super().get_context_data(**kwargs), **page, "show": show,
                "shows": [(k, label, counts.get(k)) for k, label in SHOW]}


class ErrorReportView(AdminPage):
    template_name = "feedback/admin/error.html"
    header_icon = "warning"

    def get_page_title(self):
        return _("找错留言 %(code)s") % {"code": self.report.code}

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items,
                {"url": reverse("jiyue_feedback_errors"), "label": _("网站找错")},
                {"url": "", "label": self.get_page_title()}]

    def dispatch(self, request, *args, **kwargs):
        self.report = reports_visible(request.user).select_related(
            "site", "organisation", "resource").filter(pk=kwargs["pk"]).first()
        if self.report is None:
            if ErrorReport.objects.filter(pk=kwargs["pk"]).exists():
                audit.record(request.user, None, None, "feedback.error.view", None,
                             outcome="denied", object_type="feedback.errorreport",
                             object_id=str(kwargs["pk"]))
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        r, user = self.report, self.request.user
        can_dispatch = policy.can_dispatch_interaction(user, r.organisation_id)
        can_answer = (can_dispatch if r.status == ReportStatus.NEW
                      else policy.can_handle_interaction(user, r.organisation_id))
        return {**super().get_context_data(**kwargs), "r": r, "due": services.due_state(r),
                "can_forward": can_dispatch and r.status != ReportStatus.ANSWERED,
                "can_answer": can_answer and r.status != ReportStatus.ANSWERED,
                "targets": services.forward_targets(r), "outcomes": Outcome.choices,
                "errors": kwargs.get("errors") or {}, "posted": kwargs.get("posted") or {},
                "page_url": f"https://{r.site.domain}/{r.page}",
                "labels": {"submit": _("提交留言"), "forward": _("转办"), "answer": _("答复")}}

    def post(self, request, *args, **kwargs):
        from jiyue.platform.models import Organisation

        action = request.POST.get("action")
        try:
            if action == "forward":
                target = None
                if request.POST.get("to_organisation"):
                    target = Organisation.objects.filter(pk=_int(request.POST.get("to_organisation"))).first()
                    if target is None:
                        raise services.FeedbackError({"to_organisation": _("请选择转办单位。")})
                services.forward(self.report, request.user, target, request.POST.get("note", ""))
                messages.success(request, _("已转办。"))
            elif action == "answer":
                services.answer(self.report, request.user, request.POST.get("outcome", ""),
                                request.POST.get("answer", ""))
                messages.success(request, _("已答复，留言人可凭查询码查看。"))
            else:
                raise services.FeedbackError(_("未知的操作。"))
        except services.FeedbackError as exc:
            context = self.get_context_data(errors=exc.errors, posted=request.POST)
            return self.render_to_response(context, status=exc.status if exc.status != 404 else 422)
        if not reports_visible(request.user).filter(pk=self.report.pk).exists():
            return redirect("jiyue_feedback_errors")  # forwarded to an organisation out of sight
        return redirect("jiyue_feedback_error", pk=self.report.pk)


def screenshot(request, pk: int):
    """The screenshot of a report, to staff who may see the report (audited)."""
    from .storage import private_storage

    report = reports_visible(request.user).filter(pk=pk).first()
    if report is None or not report.screenshot:
        raise Http404
    audit.record(request.user, report.organisation, None, "feedback.error.screenshot", report,
                 object_type="feedback.errorreport", object_id=str(report.pk))
    response = FileResponse(private_storage().open(report.screenshot, "rb"),
                            as_attachment=False, filename=report.screenshot_name or None)
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'"
    response["X-Content-Type-Options"] = "nosniff"
    return response
