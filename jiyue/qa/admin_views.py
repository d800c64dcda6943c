"""问答记录: the questions citizens asked, for the operator and the sites' editors.

Unanswered (not confident) and badly rated questions first, with filters; "转为问答知识" opens a
form prefilled with the question (the operator writes the answer and picks the organisation);
"标记已处理" closes a question. A small chart shows questions per day, the share answered with
confidence and the useful rate (server-rendered SVG, no script). Scoped with
`policy.qa_sites` (a department sees its own site's questions); every action audited.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue import audit
from jiyue.accounts import policy
from jiyue.core.admin_views import AdminPage, paginate

from .forms import FaqForm
from .models import FaqEntry, Question

SHOW = [("attention", gettext_lazy("待处理（没把握或评价没用）")), ("unanswered", gettext_lazy("没把握的")),
        ("useless", gettext_lazy("评价没用的")), ("useful", gettext_lazy("评价有用的")),
        ("handled", gettext_lazy("已处理的")), ("all", gettext_lazy("全部"))]
CHART_DAYS = 30


def visible_questions(user):
    if policy.sees_all_content(user):
        return Question.objects.all()
    return Question.objects.filter(site_code__in=list(policy.qa_sites(user).values_list("code", flat=True)))


def may_read_questions(user) -> bool:
    return policy.sees_all_content(user) or policy.qa_sites(user).exists()


def _filter(qs, show: str):
    if show == "attention":
        return qs.filter(handled=False).filter(Q(confident=False) | Q(feedback=Question.USELESS))
    if show == "unanswered":
        return qs.filter(confident=False)
    if show == "useless":
        return qs.filter(feedback=Question.USELESS)
    if show == "useful":
        return qs.filter(feedback=Question.USEFUL)
    if show == "handled":
        return qs.filter(handled=True)
    return qs


def chart(qs, days: int = CHART_DAYS) -> dict:
    """Questions per day over the last `days` days, with the confident share and useful rate."""
    today = timezone.localdate()
    start = today - timedelta(days=days - 1)
    rows = (qs.filter(created_at__date__gte=start)
            .annotate(day=TruncDate("created_at")).values("day")
            .annotate(n=Count("id"), sure=Count("id", filter=Q(confident=True)),
                      rated=Count("id", filter=~Q(feedback="")),
                      useful=Count("id", filter=Q(feedback=Question.USEFUL))))
    by_day = {r["day"]: r for r in rows}
    top = max([r["n"] for r in by_day.values()] or [0]) or 1
    width, height, gap = 18, 120, 4
    bars, total, sure, rated, useful = [], 0, 0, 0, 0
    for i in range(days):
        day = start + timedelta(days=i)
        r = by_day.get(day, {"n": 0, "sure": 0, "rated": 0, "useful": 0})
        total, sure = total + r["n"], sure + r["sure"]
        rated, useful = rated + r["rated"], useful + r["useful"]
        h = round(height * r["n"] / top)
        hs = round(height * r["sure"] / top)
        bars.append({"day": day, "n": r["n"], "sure": r["sure"], "x": i * (width + gap),
                     "w": width, "y": height - h, "h": h, "ys": height - hs, "hs": hs})
    return {"bars": bars, "width": days * (width + gap), "height": height, "days": days,
            "total": total, "confident_pct": round(100 * sure / total) if total else None,
            "rated": rated, "useful_pct": round(100 * useful / rated) if rated else None}


class QuestionsView(AdminPage):
    template_name = "qa/admin/questions.html"
    page_title = gettext_lazy("问答记录")
    header_icon = "help"

    def dispatch(self, request, *args, **kwargs):
        if not may_read_questions(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        user = self.request.user
        sites = list(policy.qa_sites(user).order_by("code").values_list("code", "name"))
        qs = visible_questions(user)
        site = self.request.GET.get("site", "")
        if site and site in {c for c, _n in sites}:
            qs = qs.filter(site_code=site)
        else:
            site = ""
        show = self.request.GET.get("show", "attention")
        if show not in dict(SHOW):
            show = "attention"
        text = self.request.GET.get("q", "").replace("\x00", "").strip()[:100]
        rows = _filter(qs, show)
        if text:
            rows = rows.filter(text__icontains=text)
        names = dict(sites)
        page = paginate(self.request, rows.select_related("faq").order_by("-created_at", "-id"))
        for row in page["page"]:
            row.site_name = names.get(row.site_code, row.site_code or _("开放接口"))
            row.top_answer = row.answers[0]["title"] if row.answers else ""
        return {**super().get_context_data(**kwargs), **page, "sites": sites, "site": site,
                "show": show, "shows": SHOW, "q": text, "chart": chart(qs),
                "can_convert": bool(policy.faq_organisation_ids(user))}

    def post(self, request, *args, **kwargs):
        q = visible_questions(request.user).filter(pk=_int(request.POST.get("question"))).first()
        if q is None:
            raise Http404
        if request.POST.get("action") == "handle" and not q.handled:
            q.handled = True
            q.save(update_fields=["handled"])
            audit.record(request.user, None, None, "qa.question.handle", q,
                         object_type="qa.question", object_id=str(q.pk))
            messages.success(request, _("已标记为已处理。"))
        return redirect(request.get_full_path())


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class ConvertView(AdminPage):
    """转为问答知识: a FAQ entry from a question (the question prefilled)."""

    template_name = "qa/admin/convert.html"
    page_title = gettext_lazy("转为问答知识")
    header_icon = "help"

    def dispatch(self, request, *args, **kwargs):
        self.question = visible_questions(request.user).filter(pk=kwargs["pk"]).first()
        if self.question is None:
            raise Http404
        if not policy.faq_organisation_ids(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def form(self, data=None):
        from jiyue.platform.models import Site

        initial = {"question": self.question.text}
        site = Site.objects.filter(code=self.question.site_code).first()
        if site and policy.can_manage_faq(self.request.user, site.organisation_id):
            initial["organisation"] = site.organisation_id
        form_class = type("ConvertForm", (FaqForm,), {"Meta": type("Meta", (), {
            "model": FaqEntry, "fields": ["organisation", "question", "answer", "enabled"]})})
        return form_class(data=data, initial=initial, for_user=self.request.user)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "question": self.question,
                "form": kwargs.get("form") or self.form(),
                "back": reverse("qa_questions:index")}

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        org = form.cleaned_data.get("organisation")
        if not policy.can_manage_faq(request.user, org.pk if org else None):
            raise PermissionDenied
        entry = form.save(commit=False)
        entry.created_by = request.user
        entry.save()
        Question.objects.filter(pk=self.question.pk).update(faq=entry, handled=True)
        audit.record(request.user, org, None, "qa.faq.create", entry,
                     object_type="qa.faqentry", object_id=str(entry.pk),
                     from_question=self.question.pk)
        messages.success(request, _("已转为问答知识：%(title)s") % {"title": entry.title})
        return redirect("qa_questions:index")
