"""信件办理 (the staff workspace), the letter page with its actions, attachments, and the
operator's 督查督办 (supervision) view.

Every view asks `jiyue.letters.policy` (built on `jiyue.accounts.policy`) who may see what and
`jiyue.letters.services.may` (through the services) who may act; every change is made by
`jiyue.letters.services`, which audits it; refusals and downloads are audited here.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue import audit
from jiyue.accounts import policy as account_policy
from jiyue.core.admin_views import AdminPage, paginate
from jiyue.workdays import calendar

from . import admin_forms, policy, services
from .models import (OPEN_STATUSES, ExtensionRequest, Letter, LetterAttachment, LetterType, Mailbox,
                     Status)

TABS = [("mine", gettext_lazy("我的待办")), ("soon", gettext_lazy("即将到期")),
        ("overdue", gettext_lazy("已超期")), ("all", gettext_lazy("全部"))]
DISPATCH_QUEUE = (Status.SUBMITTED, Status.ACCEPTED, Status.REVIEWING)
INSPECTION_MONTHS = 3  # a valid consultation unanswered for more than 3 months fails the site
BANDS = [("lt1", gettext_lazy("不足1个月")), ("m1", gettext_lazy("1至2个月")),
         ("m2", gettext_lazy("2至3个月")), ("gt3", gettext_lazy("超过3个月"))]


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "message_dict"):
        return [m for msgs in exc.message_dict.values() for m in msgs]
    return list(exc.messages)


def _deny(request, action: str, obj=None, organisation=None):
    audit.record(request.user, organisation, None, action, obj, outcome="denied",
                 path=request.path[:200], method=request.method)


def due_info(letter: Letter, now=None) -> dict:
    """Remaining working days of an open letter (negative once overdue)."""
    if not letter.is_open:
        return {"open": False}
    left = calendar.remaining(letter.due_at, now)
    return {"open": True, "left": left, "overdue": left < 0 or letter.due_at < (now or timezone.now()),
            "late": -left if left < 0 else 0}


# --- the workspace ------------------------------------------------------------------------

def my_queue(user, qs):
    """我的待办: what waits for this user's role. Dispatchers: 待受理, 待转办, 答复待审核 and
    pending extension requests; handlers: 办理中."""
    dispatch = policy.dispatch_organisation_ids(user)
    handle = policy.handler_organisation_ids(user)
    pending = ExtensionRequest.objects.filter(letter=OuterRef("pk"), state=ExtensionRequest.PENDING)
    qs = qs.exclude(data__has_key=Letter.HANDLED_BY)  # handled on another platform (对方办理)
    return qs.filter(Q(organisation_id__in=dispatch, status__in=DISPATCH_QUEUE)
                     | Q(organisation_id__in=dispatch) & Exists(pending)
                     | Q(organisation_id__in=handle, status=Status.HANDLING))


def due_soon(qs, now=None):
    """即将到期: open letters due within their type's warning days (working days), not yet late."""
    now = now or timezone.now()
    q = Q()
    for letter_type in LetterType.values:
        _days, warn = services.reply_rule(letter_type)
        q |= Q(type=letter_type, due_at__lte=calendar.deadline(now, warn))
    return qs.filter(status__in=OPEN_STATUSES, due_at__gte=now).filter(q)


def overdue(qs, now=None):
    return qs.filter(status__in=OPEN_STATUSES, due_at__lt=now or timezone.now())


class _Staff(AdminPage):
    header_icon = "mail"

    def dispatch(self, request, *args, **kwargs):
        if not policy.works_on_letters(request.user):
            _deny(request, "letter.admin.view")
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class WorkspaceView(_Staff):
    """信件办理: tabs, filters, the list, bulk assignment."""

    template_name = "letters/admin/workspace.html"
    page_title = gettext_lazy("信件办理")

    def filtered(self):
        user, get = self.request.user, self.request.GET
        qs = policy.letters_visible(user)
        tab = get.get("tab", "mine")
        if tab not in dict(TABS):
            tab = "mine"
        organisations = self.organisations()
        f = {"type": get.get("type", ""), "status": get.get("status", ""),
             "mailbox": _int(get.get("mailbox")), "organisation": _int(get.get("organisation")),
             "q": get.get("q", "").replace("\x00", "").strip()[:100]}
        if f["type"] in LetterType.values:
            qs = qs.filter(type=f["type"])
        else:
            f["type"] = ""
        if f["status"] in Status.values:
            qs = qs.filter(status=f["status"])
        else:
            f["status"] = ""
        if f["mailbox"]:
            qs = qs.filter(mailbox_id=f["mailbox"])
        if f["organisation"] and f["organisation"] in {o.pk for o in organisations}:
            qs = qs.filter(organisation_id=f["organisation"])
        else:
            f["organisation"] = 0
        if f["q"]:
            qs = qs.filter(title__icontains=f["q"])
        return qs, tab, f

    def organisations(self):
        from jiyue.platform.models import Organisation

        user = self.request.user
        if account_policy.sees_all_content(user):
            return list(Organisation.objects.order_by("path"))
        return list(Organisation.objects.filter(pk__in=account_policy.interaction_organisation_ids(user))
                    .order_by("path"))

    def get_context_data(self, **kwargs):
        user = self.request.user
        qs, tab, f = self.filtered()
        now = timezone.now()
        views = {"mine": my_queue(user, qs), "soon": due_soon(qs, now), "overdue": overdue(qs, now),
                 "all": qs}
        counts = {key: views[key].count() for key, _label in TABS}
        rows = views[tab]
        order = ["due_at", "id"] if tab in ("soon", "overdue", "mine") else ["-received_at", "-id"]
        page = paginate(self.request, rows.order_by(*order))
        for letter in page["page"]:
            letter.due = due_info(letter, now)
        keep = self.request.GET.copy()
        keep.pop("tab", None)
        keep.pop("p", None)
        targets = policy.bulk_targets(user)
        mailboxes = Mailbox.objects.filter(pk__in=policy.letters_visible(user).values("mailbox_id"))
        return {**super().get_context_data(**kwargs), **page, "tab": tab,
                "tabs": [(k, label, counts[k]) for k, label in TABS], "f": f,
                "types": LetterType.choices, "statuses": Status.choices,
                "mailboxes": mailboxes, "organisations": self.organisations(),
                "keep": keep.urlencode(), "targets": targets,
                "can_bulk": bool(policy.dispatch_organisation_ids(user)),
                "bulk_form": kwargs.get("bulk_form")}

    def post(self, request, *args, **kwargs):
        """Bulk 转办: the selected letters (受理 first where still 待受理) to one organisation."""
        user = request.user
        visible = policy.letters_visible(user)
        ids = [i for i in (_int(v) for v in request.POST.getlist("letters")) if i]
        ids = list(visible.filter(pk__in=ids).values_list("pk", flat=True))  # others: not there
        data = request.POST.copy()
        data.setlist("letters", [str(i) for i in ids])
        form = admin_forms.BulkAssignForm(data, letter_ids=ids, queryset=policy.bulk_targets(user))
        if not form.is_valid():
            for errors in form.errors.values():
                for e in errors:
                    messages.error(request, e)
            return redirect(request.get_full_path())
        target = form.cleaned_data["to_organisation"]
        done, failed = 0, []
        for letter in visible.filter(pk__in=form.cleaned_data["letters"]).order_by("id"):
            try:
                with transaction.atomic():
                    if not target.path.startswith(letter.organisation.path):
                        raise ValidationError(_("只能转办至本单位或下级单位。"))
                    if letter.status == Status.SUBMITTED:
                        letter = services.act(letter, "accept", user)
                    services.act(letter, "assign", user, to_organisation=target)
                done += 1
            except PermissionDenied:
                failed.append(_("%(serial)s：您无权办理该信件。") % {"serial": letter.serial})
            except ValidationError as exc:
                failed.append(_("%(serial)s：%(msg)s") % {"serial": letter.serial,
                                                          "msg": _("；").join(_messages(exc))})
        if done:
            messages.success(request, _("已转办 %(n)d 件至%(org)s。") % {"n": done, "org": target.name})
        for msg in failed:
            messages.error(request, msg)
        return redirect(request.get_full_path())


# --- one letter ----------------------------------------------------------------------------

def visible_letter_or_404(request, pk) -> Letter:
    letter = Letter.objects.select_related("mailbox", "organisation", "site", "citizen",
                                           "reported_organisation", "suggested_organisation",
                                           "duplicate_of", "reply_organisation").filter(pk=pk).first()
    if letter is None:
        raise Http404
    if not policy.can_view(request.user, letter):
        _deny(request, "letter.view", letter, letter.organisation)
        raise Http404
    return letter


def _publish_function():
    try:
        from .publishing import publish_letter
    except ImportError:
        return None
    return publish_letter


def may_publish(user, letter: Letter) -> bool:
    """公开: the dispatchers of the answering organisation or of the mailbox's organisation
    (whose site shows the letter), as `jiyue.letters.publishing` checks again."""
    return services.may(user, letter, "dispatch") or account_policy.can_dispatch_interaction(
        user, letter.mailbox.organisation_id)


class LetterView(_Staff):
    """The letter: content, attachments, every step, screening, and the actions allowed now."""

    template_name = "letters/admin/letter.html"

    def dispatch(self, request, *args, **kwargs):
        if not policy.works_on_letters(request.user):
            _deny(request, "letter.view")
            raise Http404
        self.letter = visible_letter_or_404(request, kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("信件 %(serial)s") % {"serial": self.letter.serial}

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": reverse("letters_workspace:index"), "label": _("信件办理")},
                {"url": "", "label": self.get_page_title()}]

    def allowed(self) -> dict:
        """The actions this user may take on the letter now."""
        user, letter = self.request.user, self.letter
        out = {}
        for action, (sources, _target, right) in services.ACTIONS.items():
            out[action] = letter.status in sources and services.may(user, letter, right)
        pending = letter.extensions.filter(state=ExtensionRequest.PENDING).first()
        out["extend_request"] = (letter.is_open and pending is None and letter.extended_days < 20
                                 and services.may(user, letter, "handle"))
        out["extend_decide"] = pending is not None and services.may(user, letter, "dispatch")
        out["publish"] = (letter.status in (Status.REPLIED, Status.CLOSED) and not letter.published
                          and letter.valid and may_publish(user, letter))
        self.pending = pending
        if letter.handled_by:  # 对方办理: the other platform handles it; only 公开 stays here
            out = {action: action == "publish" and allowed for action, allowed in out.items()}
        return out

    def forms(self, bound=None) -> dict:
        letter = self.letter
        initial = {}
        suggested = letter.suggested_organisation_id
        assign_qs = policy.assign_targets(letter)
        if suggested and assign_qs.filter(pk=suggested).exists():
            initial["to_organisation"] = suggested
        tpl = _int(self.request.GET.get("template"))
        template = policy.templates_for(letter).filter(pk=tpl).first() if tpl else None
        reply = template.body if template else letter.reply_draft
        forms = {
            "accept": admin_forms.NoteForm(prefix="accept"),
            "reject": admin_forms.RejectForm(prefix="reject"),
            "assign": admin_forms.RouteForm(prefix="assign", queryset=assign_qs, initial=initial),
            "transfer": admin_forms.RouteForm(prefix="transfer", queryset=policy.transfer_targets(letter),
                                              initial={"to_organisation": suggested}
                                              if suggested and suggested != letter.organisation_id else {}),
            "draft": admin_forms.DraftForm(prefix="draft", initial={"reply": reply}),
            "approve": admin_forms.ApproveForm(prefix="approve", initial={"reply": letter.reply_draft}),
            "return": admin_forms.ReturnForm(prefix="return"),
            "close": admin_forms.NoteForm(prefix="close"),
            "reopen": admin_forms.NoteForm(prefix="reopen"),
            "extend_request": admin_forms.ExtensionRequestForm(prefix="extend_request"),
            "extend_decide": admin_forms.ExtensionDecisionForm(
                prefix="extend_decide", initial={"extension": getattr(self, "pending", None)
                                                 and self.pending.pk}),
        }
        if bound is not None:
            forms[bound[0]] = bound[1]
        return forms

    def get_context_data(self, **kwargs):
        user, letter = self.request.user, self.letter
        allowed = self.allowed()
        identity = policy.shows_identity(user, letter)
        if identity and letter.type == LetterType.REPORT:
            audit.record(user, letter.organisation, None, "letter.identity_view", letter)
        duplicate = letter.duplicate_of if letter.duplicate_of_id and policy.can_view(
            user, letter.duplicate_of) else None
        return {**super().get_context_data(**kwargs), "letter": letter, "due": due_info(letter),
                "identity": identity, "allowed": allowed, "any_action": any(allowed.values()),
                "forms": self.forms(kwargs.get("bound")), "errors": kwargs.get("errors", []),
                "steps": self.steps(),
                "attachments": letter.attachments.all(), "extensions": letter.extensions.all(),
                "pending": self.pending, "templates": policy.templates_for(letter),
                "duplicate": duplicate, "duplicate_id": letter.duplicate_of_id,
                "labels": services.ACTION_LABELS,
                "can_publish_fn": _publish_function() is not None}

    def steps(self) -> list:
        steps = list(self.letter.steps.select_related("actor", "organisation", "to_organisation"))
        for step in steps:
            step.label = services.ACTION_LABELS.get(step.action, step.action)
        return steps

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        allowed = self.allowed()
        if action not in allowed:
            messages.error(request, _("未知的办理操作。"))
            return redirect(request.path)
        if not allowed[action]:
            if action == "publish":
                may = may_publish(request.user, self.letter)
            else:
                right = services.ACTIONS[action][2] if action in services.ACTIONS else (
                    "handle" if action == "extend_request" else "dispatch")
                may = services.may(request.user, self.letter, right)
            if not may:
                _deny(request, f"letter.{action}", self.letter, self.letter.organisation)
                raise PermissionDenied
            if self.letter.handled_by and action != "publish":
                messages.error(request, services.handed_over_message(self.letter, action))
                return redirect(request.path)
            messages.error(request, _("信件当前状态为“%(s)s”，不能%(a)s。")
                           % {"s": self.letter.get_status_display(),
                              "a": services.ACTION_LABELS.get(action, action)})
            return redirect(request.path)
        form = self._bound(action, request.POST)
        if form is not None and not form.is_valid():
            errs = [e for errors in form.errors.values() for e in errors]
            return self.render_to_response(self.get_context_data(bound=(action, form), errors=errs))
        data = form.cleaned_data if form is not None else {}
        try:
            done = self._do(action, data)
        except PermissionDenied:
            raise
        except ValidationError as exc:
            return self.render_to_response(self.get_context_data(bound=(action, form) if form else None,
                                                                 errors=_messages(exc)))
        messages.success(request, done)
        if policy.can_view(request.user, Letter.objects.select_related("mailbox").get(pk=self.letter.pk)):
            return redirect(request.path)
        return redirect("letters_workspace:index")

    def _bound(self, action, data):
        letter = self.letter
        if action in ("accept", "close", "reopen", "publish"):
            return admin_forms.NoteForm(data, prefix=action) if action != "publish" else None
        if action == "reject":
            return admin_forms.RejectForm(data, prefix=action)
        if action == "return":
            return admin_forms.ReturnForm(data, prefix=action)
        if action == "assign":
            return admin_forms.RouteForm(data, prefix=action, queryset=policy.assign_targets(letter))
        if action == "transfer":
            return admin_forms.RouteForm(data, prefix=action, queryset=policy.transfer_targets(letter))
        if action == "draft":
            return admin_forms.DraftForm(data, prefix=action)
        if action == "approve":
            return admin_forms.ApproveForm(data, prefix=action)
        if action == "extend_request":
            return admin_forms.ExtensionRequestForm(data, prefix=action)
        return admin_forms.ExtensionDecisionForm(data, prefix=action)

    def _do(self, action: str, data: dict) -> str:
        user, letter = self.request.user, self.letter
        label = services.ACTION_LABELS.get(action, action)
        if action in services.ACTIONS:
            kwargs = {"note": data.get("note", "")}
            if action in ("assign", "transfer"):
                kwargs["to_organisation"] = data["to_organisation"]
            if action == "draft":
                kwargs["reply"] = data["reply"]
            if action == "approve":
                kwargs["reply"] = data.get("reply") or None
            services.act(letter, action, user, **kwargs)
            if action in ("assign", "transfer"):
                return _("已%(a)s至%(org)s。") % {"a": label, "org": data["to_organisation"].name}
            return _("已%(a)s。") % {"a": label}
        if action == "extend_request":
            services.request_extension(letter, data["days"], data["reason"], user)
            return _("已申请延期 %(n)d 个工作日，待分办员审批。") % {"n": data["days"]}
        if action == "extend_decide":
            ext = letter.extensions.filter(pk=data["extension"]).first()
            if ext is None:
                raise ValidationError(_("延期申请不存在。"))
            approve = data["decision"] == "approve"
            services.decide_extension(ext, approve, user, data.get("note", ""))
            return _("已批准延期。") if approve else _("已不批准延期。")
        publish = _publish_function()
        if publish is None:
            raise ValidationError(_("信件公开功能尚未启用，请联系平台运营管理员。"))
        publish(letter, user)
        return _("已公开，信件将出现在网站的互动交流栏目中。")


class AttachmentView(_Staff):
    """An attachment from the private storage, to staff who may see the letter (audited)."""

    def get(self, request, pk, attachment):
        letter = visible_letter_or_404(request, pk)
        att = LetterAttachment.objects.filter(pk=attachment, letter=letter).first()
        if att is None:
            raise Http404
        try:
            handle = att.file.open("rb")
        except (FileNotFoundError, OSError, ValueError):
            raise Http404 from None
        audit.record(request.user, letter.organisation, None, "letter.attachment.download", letter,
                     attachment=att.pk)
        response = FileResponse(handle, as_attachment=True, filename=att.name or "attachment",
                                content_type="application/octet-stream")
        response["Cache-Control"] = "private, no-store"
        return response


# --- 督查督办 (the platform operator) -------------------------------------------------------

def band_of(received: date, today: date) -> str:
    if today >= received + relativedelta(months=3):
        return "gt3"
    if today >= received + relativedelta(months=2):
        return "m2"
    if today >= received + relativedelta(months=1):
        return "m1"
    return "lt1"


def unanswered_consultations():
    """Valid 咨询 without a released reply, the oldest first."""
    return (Letter.objects.filter(type=LetterType.CONSULT, valid=True, status__in=OPEN_STATUSES)
            .select_related("organisation", "mailbox").order_by("received_at", "id"))


def supervision_figures(now=None) -> dict:
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    bands = {key: 0 for key, _label in BANDS}
    for received in unanswered_consultations().values_list("received_at", flat=True):
        bands[band_of(timezone.localtime(received).date(), today)] += 1
    top = max(bands.values()) or 1
    width, height, gap = 80, 120, 24
    bars = []
    colours = {"lt1": "#7fb77e", "m1": "#e0b84c", "m2": "#e07b39", "gt3": "#c0392b"}
    for i, (key, label) in enumerate(BANDS):
        h = round(height * bands[key] / top)
        bars.append({"key": key, "label": label, "n": bands[key], "x": i * (width + gap) + gap,
                     "w": width, "y": height - h, "h": h, "fill": colours[key],
                     "tx": i * (width + gap) + gap + width // 2})
    open_letters = Letter.objects.filter(status__in=OPEN_STATUSES)
    per_org = (open_letters.values("organisation_id", "organisation__name")
               .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)),
                         consults=Count("id", filter=Q(type=LetterType.CONSULT, valid=True)),
                         oldest=Min("received_at", filter=Q(type=LetterType.CONSULT, valid=True)))
               .order_by("-overdue", "oldest", "organisation__name"))
    return {"bands": bands, "bars": bars, "width": len(BANDS) * (width + gap) + gap, "height": height,
            "per_org": list(per_org), "total": sum(bands.values())}


class SupervisionView(AdminPage):
    """督查督办: every site's valid consultations not yet answered, the oldest first, against
    the national inspection's 3-month limit; overdue letters per organisation; a chart."""

    template_name = "letters/admin/supervision.html"
    page_title = gettext_lazy("督查督办")
    header_icon = "warning"

    def dispatch(self, request, *args, **kwargs):
        if not policy.can_supervise(request.user):
            _deny(request, "letter.supervision.view")
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        now = timezone.now()
        today = timezone.localtime(now).date()
        band = self.request.GET.get("band", "")
        qs = unanswered_consultations()
        if band in dict(BANDS):
            bounds = {"lt1": (1, 0), "m1": (2, 1), "m2": (3, 2), "gt3": (None, 3)}[band]
            newer, older = bounds

            def start_of(months):
                day = today - relativedelta(months=months) + timedelta(days=1)
                return timezone.make_aware(datetime.combine(day, time.min))

            if older:
                qs = qs.filter(received_at__lt=start_of(older))
            if newer:
                qs = qs.filter(received_at__gte=start_of(newer))
        else:
            band = ""
        page = paginate(self.request, qs)
        for letter in page["page"]:
            received = timezone.localtime(letter.received_at).date()
            limit = received + relativedelta(months=INSPECTION_MONTHS)
            letter.age_days = (today - received).days
            letter.age_workdays = calendar.working_days_between(received, today)
            letter.limit = limit
            letter.limit_left = (limit - today).days
            letter.band = band_of(received, today)
            letter.due = due_info(letter, now)
        return {**super().get_context_data(**kwargs), **page, "figures": supervision_figures(now),
                "band": band, "band_choices": BANDS, "today": today}
