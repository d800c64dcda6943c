"""依申请公开 in the admin: 申请办理 (the list per organisation and the detail with its actions),
登记申请 (a letter or an application made in person) and 年度统计 (the annual table, CSV).

Who: the organisations' 互动分办员 (accepts, issues 补正 notices and replies, approves
extensions, closes) and 互动办理员 (records corrections and consultations, drafts replies, asks
for extensions) — `accounts.policy.interaction_organisation_ids`; the platform operator sees
every organisation; the three administrators see nothing. Every action is audited (by
`services`); reading an application's personal data is audited here.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue import audit
from jiyue.accounts import policy
from jiyue.core.admin_views import AdminPage, paginate

from . import services
from .models import (OPEN_STATUSES, ApplicantKind, Channel, Delivery, Extension, IdType, Result, Status,
                     ORGANISATION_CATEGORIES)

SHOW = [("open", gettext_lazy("办理中（全部未答复）")), ("due_soon", gettext_lazy("即将到期（5个工作日内）")),
        ("overdue", gettext_lazy("已超期")), ("pending_extension", gettext_lazy("延期待审批")),
        ("correction", gettext_lazy("待补正")), ("replied", gettext_lazy("已答复")), ("all", gettext_lazy("全部"))]


def may_use(user) -> bool:
    return policy.sees_all_content(user) or bool(policy.interaction_organisation_ids(user))


def organisations(user):
    from jiyue.platform.models import Organisation

    return Organisation.objects.filter(pk__in=policy.interaction_organisation_ids(user)).order_by("path")


def _int(value, default=0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class _Guarded(AdminPage):
    header_icon = "doc-full"

    def dispatch(self, request, *args, **kwargs):
        if not may_use(request.user):
            audit.record(request.user, None, None, "disclosure.admin", None, outcome="denied")
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class ApplicationsView(_Guarded):
    template_name = "disclosure/admin/list.html"
    page_title = gettext_lazy("依申请公开")

    def get_context_data(self, **kwargs):
        user = self.request.user
        qs = services.visible_applications(user)
        orgs = list(organisations(user).values_list("pk", "name"))
        org = _int(self.request.GET.get("organisation"))
        if org and org in {pk for pk, _n in orgs}:
            qs = qs.filter(organisation_id=org)
        else:
            org = 0
        show = self.request.GET.get("show", "open")
        if show not in dict(SHOW):
            show = "open"
        counts = {"open": qs.filter(status__in=OPEN_STATUSES).count(),
                  "due_soon": services.due_soon(qs).count(), "overdue": services.overdue(qs).count()}
        if show == "open":
            rows = qs.filter(status__in=OPEN_STATUSES)
        elif show == "due_soon":
            rows = services.due_soon(qs)
        elif show == "overdue":
            rows = services.overdue(qs)
        elif show == "pending_extension":
            rows = qs.filter(extensions__state=Extension.PENDING).distinct()
        elif show == "correction":
            rows = qs.filter(status=Status.CORRECTION)
        elif show == "replied":
            rows = qs.filter(status__in=(Status.REPLIED, Status.CLOSED))
        else:
            rows = qs
        order = ["due_at", "received_at", "id"] if show not in ("replied", "all") else ["-received_at", "-id"]
        page = paginate(self.request, rows.order_by(*order))
        now = timezone.now()
        for app in page["page"]:
            app.left = services.remaining(app, now)
        return {**super().get_context_data(**kwargs), **page, "orgs": orgs, "org": org, "show": show,
                "shows": SHOW, "counts": counts,
                "can_register": bool(policy.interaction_organisation_ids(user))}


class ApplicationView(_Guarded):
    template_name = "disclosure/admin/detail.html"
    page_title = gettext_lazy("政府信息公开申请")

    def dispatch(self, request, *args, **kwargs):
        if not may_use(request.user):
            raise PermissionDenied
        self.app = services.visible_applications(request.user).filter(pk=kwargs["pk"]).first()
        if self.app is None:
            if services.Application.objects.filter(pk=kwargs["pk"]).exists():
                audit.record(request.user, None, None, "disclosure.view", f"disclosure:{kwargs['pk']}",
                             outcome="denied")
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("政府信息公开申请 %(serial)s") % {"serial": self.app.serial}

    def get_context_data(self, **kwargs):
        user, app = self.request.user, self.app
        if self.request.method == "GET":
            audit.record(user, app.organisation, None, "disclosure.view", app)
        dispatch = services.may(user, app, "dispatch")
        handle = services.may(user, app, "handle")
        status = app.status
        allowed = {a for a, (sources, right) in services.ACTIONS.items()
                   if status in sources and (dispatch if right == "dispatch" else handle)}
        clock = services.clock(app)
        if not clock["correction_allowed"]:
            allowed.discard("correction_notice")
        pending = app.extensions.filter(state=Extension.PENDING).first()
        can_extend = (handle and status in (Status.SUBMITTED, Status.HANDLING, Status.CONSULTING)
                      and not app.extended_days and pending is None)
        return {**super().get_context_data(**kwargs), "app": app, "clock": clock,
                "steps": app.steps.select_related("actor").order_by("at", "id"),
                "extensions": app.extensions.select_related("requested_by", "decided_by"),
                "allowed": allowed, "pending": pending, "can_decide": dispatch and pending is not None,
                "can_extend": can_extend, "results": Result.choices,
                "labels": {k: str(v) for k, v in services.ACTION_LABELS.items()},
                "today": timezone.localdate().isoformat(), "back": reverse("disclosure_applications:index"),
                "max_extension": services.MAX_EXTENSION_DAYS, **kwargs}

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        user, app = request.user, self.app
        note = request.POST.get("note", "")
        day = None
        if request.POST.get("date"):
            try:
                day = date.fromisoformat(request.POST["date"].strip()[:10])
            except ValueError:
                messages.error(request, _("日期格式不正确，应为 年-月-日。"))
                return redirect(request.path)
        try:
            if action in services.ACTIONS:
                services.act(app, action, user, note=note, result=request.POST.get("result", ""),
                             reply=request.POST.get("reply", ""),
                             at=day if action in ("correction_received", "consult_start", "consult_end") else None)
            elif action == "extend_request":
                services.request_extension(app, request.POST.get("days"), request.POST.get("reason", ""), user)
            elif action in ("extend_approve", "extend_refuse"):
                ext = app.extensions.filter(pk=_int(request.POST.get("extension"))).first()
                if ext is None:
                    raise Http404
                services.decide_extension(ext, action == "extend_approve", user, note)
            else:
                messages.error(request, _("未知的办理操作。"))
                return redirect(request.path)
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("您无权执行该操作。"))
        except ValidationError as exc:
            messages.error(request, _("；").join(exc.messages))
        else:
            messages.success(request, _("已%(a)s。") % {"a": services.ACTION_LABELS.get(action, action)})
        return redirect(request.path)


class RegisterView(_Guarded):
    """登记申请: staff record an application received by letter or in person."""

    template_name = "disclosure/admin/register.html"
    page_title = gettext_lazy("登记政府信息公开申请")

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "orgs": organisations(self.request.user),
                "kinds": ApplicantKind.choices, "id_types": IdType.choices,
                "categories": [(c.value, c.label) for c in ORGANISATION_CATEGORIES],
                "deliveries": Delivery.choices,
                "channels": [(Channel.LETTER, Channel.LETTER.label), (Channel.IN_PERSON, Channel.IN_PERSON.label)],
                "values": kwargs.get("values") or {"received": timezone.localdate().isoformat(),
                                                   "applicant_kind": "person", "channel": Channel.LETTER},
                "errors": kwargs.get("errors") or {}, "back": reverse("disclosure_applications:index")}

    def post(self, request, *args, **kwargs):
        from jiyue.platform.models import Organisation

        from .views import FIELDS

        values = {k: services.clean_text(request.POST.get(k, ""), 3000) for k in
                  (*FIELDS, "organisation", "channel", "received")}
        org = Organisation.objects.filter(pk=_int(values["organisation"])).first()
        errors = {}
        received = None
        try:
            received = date.fromisoformat(values["received"][:10])
        except ValueError:
            errors["received_at"] = _("请填写收到申请的日期（年-月-日）。")
        if values["channel"] not in (Channel.LETTER, Channel.IN_PERSON):
            errors["channel"] = _("请选择申请方式：信函或当面。")
        if not errors:
            try:
                when = min(timezone.make_aware(datetime.combine(received, time(9))), timezone.now())
                app = services.submit(organisation=org, channel=values["channel"], received_at=when, actor=request.user,
                                      **{k: request.POST.get(k, "") for k in FIELDS})
            except ValidationError as exc:
                errors = {k: " ".join(v) for k, v in exc.message_dict.items()}
            except PermissionDenied as exc:
                errors = {"organisation": str(exc)}
            else:
                messages.success(request, _("已登记申请 %(serial)s。") % {"serial": app.serial})
                return redirect("disclosure_applications:detail", pk=app.pk)
        return self.render_to_response(self.get_context_data(values=values, errors=errors), status=422)


class AnnualView(_Guarded):
    template_name = "disclosure/admin/annual.html"
    page_title = gettext_lazy("依申请公开年度统计")

    def get(self, request, *args, **kwargs):
        user = request.user
        orgs = list(organisations(user))
        all_allowed = policy.sees_all_content(user)
        year = _int(request.GET.get("year"), timezone.localdate().year)
        if not 2000 <= year <= timezone.localdate().year + 1:
            year = timezone.localdate().year
        org_id = request.GET.get("organisation", "")
        if org_id == "all" and all_allowed:
            org = None
        else:
            org = next((o for o in orgs if o.pk == _int(org_id)), None) or (
                None if all_allowed and not org_id else (orgs[0] if orgs else None))
            if org is None and not all_allowed:
                raise PermissionDenied
        table = services.annual_table(org, year)
        if request.GET.get("format") == "csv":
            audit.record(user, org, None, "disclosure.annual_export", str(org.pk if org else "all"), year=year)
            return self._csv(table)
        ctx = self.get_context_data(table=table, orgs=orgs, org=org, year=year, all_allowed=all_allowed,
                                    labels=services.column_labels(),
                                    years=list(range(timezone.localdate().year, 2019, -1)))
        return self.render_to_response(ctx)

    def _csv(self, table) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"disclosure-{table['year']}-{table['organisation'] or 'all'}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response.write("\ufeff")  # Excel opens UTF-8 with a BOM
        out = csv.writer(response)
        out.writerow([_("%(org)s %(year)s年收到和处理政府信息公开申请情况")
                      % {"org": table["organisation_name"], "year": table["year"]}])
        out.writerow([_("项目"), *services.column_labels()])
        for row in table["rows"]:
            values = row["values"]
            out.writerow([row["label"], *([values[c] for c in table["columns"]] if values else [""] * len(table["columns"]))])
        return response
