"""The open API, /api/v1/ (django-ninja; OpenAPI at /api/v1/openapi.json).

Conventions: every list is `{"count", "next", "previous", "results"}`; every error is
`application/problem+json` with a Chinese `detail`. Anonymous callers read published content;
staff (session or personal token `Authorization: Bearer wagtail_…`) read and write within their
grants, through the same services and workflow as the admin.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.forms import modelform_factory
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.renderers import JSONRenderer
from ninja.errors import ValidationError as NinjaValidationError
from ninja.utils import check_csrf
from pydantic import Field

from jiyue import audit
from jiyue.accounts import policy
from jiyue.library import services as library
from jiyue.library.kinds import kinds, model_for, specific_many
from jiyue.library.models import Placement, Resource
from jiyue.platform.models import Column, Site
from jiyue.platform.services import site_of_page

from .errors import error, limited, problem  # noqa: F401 - problem and error are the apps' interface
from .models import authenticate_token

class ChineseJSONRenderer(JSONRenderer):
    """Chinese text as characters, not \\u escapes."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(title=gettext_lazy("jiyue 开放接口"), version="1", urls_namespace="jiyue-api",
               renderer=ChineseJSONRenderer(),
               description=gettext_lazy("政府网站集约化平台开放接口：站点、栏目、信息资源与引用。"))

MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000
# Identifiers and small integers as the database can hold them: a number out of range is a
# 422 with the usual problem body, never a database overflow.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
SmallInt = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]


# --- errors ------------------------------------------------------------------------------

def _messages(exc: ValidationError) -> dict[str, list[str]] | list[str]:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return exc.messages


@api.exception_handler(NinjaValidationError)
def _ninja_invalid(request, exc):
    errors = [{"loc": e.get("loc"), "msg": e.get("msg")} for e in exc.errors]
    return problem(422, _("请求参数无效"), _("请求内容不符合接口要求，请检查字段和格式。"), errors=errors)


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    msgs = _messages(exc)
    flat = _("；").join(m for v in (msgs.values() if isinstance(msgs, dict) else [msgs]) for m in v)
    return problem(400, _("数据校验失败"), flat or _("数据校验失败。"), errors=msgs)


@api.exception_handler(PermissionDenied)
def _denied(request, exc):
    return problem(403, _("无权操作"), str(exc) or _("您无权执行该操作。"))


@api.exception_handler(Http404)
def _missing(request, exc):
    return problem(404, _("未找到"), _("请求的对象不存在或您无权查看。"))


@api.exception_handler(AuthenticationError)
def _unauth(request, exc):
    return problem(401, _("未登录"), _("请先登录或提供有效的接口令牌。"))


@api.exception_handler(library.NeedsConfirmation)
def _confirm(request, exc):
    return problem(409, _("需要确认"), str(exc))


@api.exception_handler(HttpError)
def _http_error(request, exc):
    return problem(exc.status_code, _("请求错误"), str(exc))


@api.exception_handler(json.JSONDecodeError)
def _bad_json(request, exc):
    return problem(400, _("请求格式错误"), _("请求体不是有效的 JSON。"))


# --- callers -----------------------------------------------------------------------------

def caller(request: HttpRequest, write: bool = False):
    """The user behind a request: a personal token, a staff session, or anonymous (None)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = authenticate_token(header[7:].strip())
        if user is None:
            raise AuthenticationError()
        request.user = user
        return user
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        if write and check_csrf(request) is not None:
            raise PermissionDenied(_("CSRF 校验失败，请刷新页面后重试。"))
        return user
    if write:
        raise AuthenticationError()
    return None


def paginate(request, qs, serialize, page: int, page_size: int, prepare=list) -> dict:
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    if page > MAX_PAGE:  # an offset the database could not take (a huge number is not a 500)
        raise HttpError(400, _("页码超出范围：须在 1 至 %(max)s 之间。") % {"max": MAX_PAGE})
    count = qs.count()
    start = (page - 1) * page_size
    items = [serialize(o) for o in prepare(qs[start:start + page_size])]

    def link(p):
        q = request.GET.copy()
        q["page"] = str(p)
        q["page_size"] = str(page_size)
        return request.build_absolute_uri(f"{request.path}?{q.urlencode()}")

    return {"count": count, "next": link(page + 1) if start + page_size < count else None,
            "previous": link(page - 1) if page > 1 else None, "results": items}


def _dt(v):
    if v is None:
        return None
    if isinstance(v, datetime):
        return timezone.localtime(v).strftime("%Y-%m-%d %H:%M")
    if isinstance(v, date):
        return v.isoformat()
    return v


# --- serialisers ---------------------------------------------------------------------------

def site_out(s: Site) -> dict:
    return {"code": s.code, "name": s.name, "domains": [d for d in (s.domain, s.cn_domain) if d],
            "local_hostname": s.local_hostname,
            "organisation": {"id": s.organisation_id, "name": s.organisation.name},
            "level": s.level, "kind": s.kind, "state": s.state}


def column_out(c: Column) -> dict:
    site = site_of_page(c)
    parent = c.get_parent().specific
    return {"id": c.pk, "site": site.code if site else None, "title": c.title, "slug": c.slug,
            "parent": parent.pk if isinstance(parent, Column) else None,
            "column_type": c.column_type, "update_interval": c.update_interval,
            "description": c.description, "keywords": c.keywords,
            "list_layout": c.list_layout, "visible": c.show_in_menus}


KIND_FIELDS_SKIP = {"id", "resource_ptr", "kind", "global_id", "organisation", "title", "summary",
                    "keywords", "source", "author", "topic", "audience", "sharing", "disclosure",
                    "in_directory", "index_number", "published_at", "created_by", "created_at",
                    "updated_at", "live", "has_unpublished_changes", "first_published_at",
                    "last_published_at", "live_revision", "latest_revision", "go_live_at",
                    "expire_at", "expired", "locked", "locked_at", "locked_by"}


def _kind_fields(r: Resource) -> dict[str, Any]:
    out = {}
    for f in r._meta.concrete_fields:
        if f.model is Resource or f.name in KIND_FIELDS_SKIP:
            continue
        value = getattr(r, f.attname)
        if f.is_relation:
            rel = getattr(r, f.name)
            value = getattr(rel, "global_id", None) or (rel.pk if rel else None)
        out[f.name] = _dt(value)
    return out


def resource_out(r: Resource) -> dict:
    r = r.specific
    return {"id": r.global_id, "kind": r.kind, "title": r.title, "summary": r.summary,
            "organisation": {"id": r.organisation_id, "name": r.organisation.name},
            "keywords": r.keyword_list, "source": r.source, "author": r.author,
            "topic": str(r.topic) if r.topic_id else None, "sharing": r.sharing,
            "index_number": r.index_number, "live": r.live, "published_at": _dt(r.published_at),
            "updated_at": _dt(r.updated_at), "fields": _kind_fields(r)}


def placement_out(p: Placement) -> dict:
    return {"id": p.pk, "resource": p.resource.global_id, "title": p.resource.title,
            "site": p.site.code, "column": p.column_id, "state": p.state,
            "effective_state": p.effective_state, "pinned": p.pinned, "sort_order": p.sort_order,
            "go_live_at": _dt(p.go_live_at)}


STAFF_SITE_STATES = [Placement.LIVE, Placement.SCHEDULED, Placement.OFFERED, Placement.REQUESTED]


# --- sites and columns -------------------------------------------------------------------

def _public_sites():
    return Site.objects.exclude(state=Site.STATE_CLOSED)


@api.get("/sites", tags=[gettext_lazy("站点")], summary=gettext_lazy("站点列表"))
def list_sites(request, page: int = 1, page_size: int = 50, level: str | None = None,
               kind: str | None = None, organisation: Id | None = None):
    user = caller(request)
    qs = (policy.visible_sites(user) if user else _public_sites()).select_related("organisation")
    if level:
        qs = qs.filter(level=level)
    if kind:
        qs = qs.filter(kind=kind)
    if organisation:
        qs = qs.filter(organisation_id=organisation)
    return paginate(request, qs.order_by("code"), site_out, page, page_size)


def _site(user, code: str) -> Site:
    qs = policy.visible_sites(user) if user else _public_sites()
    site = qs.select_related("organisation").filter(code=code).first()
    if site is None:
        raise Http404
    return site


@api.get("/sites/{code}", tags=[gettext_lazy("站点")], summary=gettext_lazy("站点详情"))
def get_site(request, code: str):
    return site_out(_site(caller(request), code))


@api.get("/columns", tags=[gettext_lazy("栏目")], summary=gettext_lazy("栏目列表"))
def list_columns(request, site: str | None = None, page: int = 1, page_size: int = 100):
    user = caller(request)
    qs = Column.objects.live() if not user else policy.visible_columns(user)
    if not user:
        homes = _public_sites().exclude(home=None).values_list("home__path", flat=True)
        from django.db.models import Q

        q = Q(pk__in=[])
        for path in homes:
            q |= Q(path__startswith=path)
        qs = qs.filter(q)
    if site:
        s = _site(user, site)
        qs = qs.filter(path__startswith=s.home.path)
    return paginate(request, qs.order_by("path"), column_out, page, page_size)


@api.get("/columns/{column_id}", tags=[gettext_lazy("栏目")], summary=gettext_lazy("栏目详情"))
def get_column(request, column_id: Id):
    user = caller(request)
    qs = policy.visible_columns(user) if user else Column.objects.live()
    col = qs.filter(pk=column_id).first()
    if col is None or (not user and site_of_page(col) is None):
        raise Http404
    return column_out(col)


# --- resources ---------------------------------------------------------------------------

def _resources_for(user):
    qs = Resource.objects.select_related("organisation", "topic")
    return policy.resources_visible(user, qs) if user else qs.filter(live=True)


def _parse_date(value: str | None, name: str):
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HttpError(400, _("参数 %(name)s 须为 YYYY-MM-DD 格式的日期。") % {"name": name})


@api.get("/resources", tags=[gettext_lazy("信息资源")], summary=gettext_lazy("信息资源列表"))
def list_resources(request, site: str | None = None, column: Id | None = None,
                   kind: str | None = None, organisation: Id | None = None,
                   published_from: str | None = None, published_to: str | None = None,
                   q: str | None = None, page: int = 1, page_size: int = 20):
    user = caller(request)
    qs = _resources_for(user)
    if kind:
        if kind not in kinds():
            raise HttpError(400, _("未知的资源类型“%(kind)s”，可选：%(choices)s。")
                            % {"kind": kind, "choices": _("、").join(kinds())})
        qs = qs.filter(kind=kind)
    if organisation:
        qs = qs.filter(organisation_id=organisation)
    if site:
        s = _site(user, site)
        # the public sees what is live on the site; staff also what is scheduled or pending there
        states = [Placement.LIVE] if not user else STAFF_SITE_STATES
        qs = qs.filter(placements__site=s, placements__state__in=states)
    if column:
        qs = qs.filter(placements__column_id=column, placements__state=Placement.LIVE)
    d_from, d_to = _parse_date(published_from, "published_from"), _parse_date(published_to, "published_to")
    if d_from:
        qs = qs.filter(published_at__date__gte=d_from)
    if d_to:
        qs = qs.filter(published_at__date__lte=d_to)
    if q:
        qs = qs.filter(title__icontains=q)
    qs = qs.distinct().order_by("-published_at", "-id")
    return paginate(request, qs, resource_out, page, page_size, prepare=specific_many)


def _resource(user, rid: str) -> Resource:
    r = _resources_for(user).filter(global_id=rid).first()
    if r is None:
        raise Http404
    return r.specific


@api.get("/resources/{rid}", tags=[gettext_lazy("信息资源")], summary=gettext_lazy("信息资源详情"))
def get_resource(request, rid: str):
    user = caller(request)
    r = _resource(user, rid)
    data = resource_out(r)
    places = r.placements.select_related("site", "resource")
    if not user:
        places = places.filter(state=Placement.LIVE)
    else:
        site_ids = set(policy.visible_sites(user).values_list("pk", flat=True))
        places = [p for p in places if p.site_id in site_ids or policy.can_edit_resource(user, r)]
    data["placements"] = [placement_out(p) for p in places]
    return data


class ResourceIn(Schema):
    kind: str
    organisation: Id | None = None
    fields: dict[str, Any]
    place_in: list[Id] = []


RESOURCE_FORM_EXCLUDE = ["kind", "global_id", "index_number", "published_at", "created_by",
                         "live", "has_unpublished_changes", "first_published_at",
                         "last_published_at", "live_revision", "latest_revision", "locked",
                         "locked_at", "locked_by", "expired", "organisation"]


def _api_formfield(field, **kwargs):
    """Rich text arrives as HTML over the API (the admin's Draftail widget expects its own JSON);
    it is sanitised by the model on save."""
    from django import forms
    from wagtail.fields import RichTextField

    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")  # an address without scheme means https
    if isinstance(field, RichTextField):
        return forms.CharField(label=field.verbose_name, required=not field.blank,
                               widget=forms.Textarea)
    return field.formfield(**kwargs)


def _form_for(model, data, instance=None):
    Form = modelform_factory(model, exclude=RESOURCE_FORM_EXCLUDE, formfield_callback=_api_formfield)
    initial = {}
    if instance is not None:
        from django.forms.models import model_to_dict

        initial = model_to_dict(instance, exclude=RESOURCE_FORM_EXCLUDE)
        initial.update(data)
        data = initial
    else:
        # fields left out take the model's defaults (sharing, validity, disclosure …)
        defaults = {f.name: f.get_default() for f in model._meta.concrete_fields
                    if f.has_default() and f.name in Form.base_fields}
        data = {**defaults, **data}
    form = Form(data=data, instance=instance)
    if not form.is_valid():
        raise ValidationError({k: v for k, v in form.errors.items()})
    return form


@api.post("/resources", tags=[gettext_lazy("信息资源")],
          summary=gettext_lazy("新建信息资源（草稿）"), response={201: dict})
def create_resource(request, payload: ResourceIn):
    user = caller(request, write=True)
    if payload.kind not in kinds():
        raise HttpError(400, _("未知的资源类型“%(kind)s”，可选：%(choices)s。")
                        % {"kind": payload.kind, "choices": _("、").join(kinds())})
    orgs = policy.editor_organisation_ids(user)
    org_id = payload.organisation or (next(iter(orgs)) if len(orgs) == 1 else None)
    if org_id is None:
        raise ValidationError({"organisation": [_("请指定所属机构。")]})
    if org_id not in orgs:
        audit.record(user, None, None, "resource.create", payload.fields.get("title", ""),
                     outcome="denied")
        raise PermissionDenied(_("您无权为该机构新建信息资源。"))
    columns = list(Column.objects.filter(pk__in=payload.place_in))
    if len(columns) != len(set(payload.place_in)):
        raise ValidationError({"place_in": [_("栏目不存在。")]})
    model = model_for(payload.kind)
    with transaction.atomic():
        form = _form_for(model, payload.fields)
        obj = form.save(commit=False)
        obj.organisation_id = org_id
        obj.created_by = user
        obj.live = False
        obj.full_clean(exclude=["audience"])
        obj.save()
        form.save_m2m()
        obj.save_revision(user=user, log_action=True)
        for col in columns:
            library.place(user, obj, col)
        audit.record(user, obj.organisation, None, "resource.create", obj)
    return Status(201, resource_out(obj))


class ResourcePatch(Schema):
    fields: dict[str, Any]


@api.patch("/resources/{rid}", tags=[gettext_lazy("信息资源")], summary=gettext_lazy("修改信息资源（生成新修订版本）"))
def update_resource(request, rid: str, payload: ResourcePatch):
    fields = payload.fields
    user = caller(request, write=True)
    obj = _resource(user, rid)
    if not policy.can_edit_resource(user, obj):
        audit.record(user, None, None, "resource.update", obj, outcome="denied")
        raise PermissionDenied(_("您无权修改该信息资源。"))
    if obj.locked and obj.locked_by_id != user.pk:
        raise HttpError(409, _("该信息资源已被 %(user)s 锁定，正在编辑。") % {"user": obj.locked_by})
    with transaction.atomic():
        latest = obj.get_latest_revision_as_object()
        form = _form_for(type(obj), fields, instance=latest)
        draft = form.save(commit=False)
        draft.full_clean(exclude=["audience"])
        revision = draft.save_revision(user=user, log_action=True)
        audit.record(user, obj.organisation, None, "resource.update", obj, revision=revision.pk)
    return resource_out(draft)


@api.post("/resources/{rid}/submit", tags=[gettext_lazy("信息资源")], summary=gettext_lazy("提交审核"))
def submit_resource(request, rid: str):
    user = caller(request, write=True)
    obj = _resource(user, rid)
    if not policy.can_edit_resource(user, obj):
        raise PermissionDenied(_("您无权提交该信息资源。"))
    workflow = obj.get_workflow()
    if workflow is None:
        raise HttpError(409, _("该机构未配置审核流程，请由发布员直接发布。"))
    if obj.workflow_in_progress:
        raise HttpError(409, _("该信息资源已在审核中。"))
    with transaction.atomic():
        latest = obj.get_latest_revision_as_object()
        latest.save_revision(user=user)
        workflow.start(obj, user)
        audit.record(user, obj.organisation, None, "resource.submit", obj)
    return {"id": obj.global_id, "workflow": workflow.name, "status": "in_progress"}


class ReviewIn(Schema):
    action: Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]  # a task action's name
    comment: str = ""
    secrecy_confirmed: bool = False


@api.post("/resources/{rid}/review", tags=[gettext_lazy("信息资源")],
          summary=gettext_lazy("审核：approve（通过）或 reject（退回修改），末级通过须确认保密审查"))
def review_resource(request, rid: str, payload: ReviewIn):
    user = caller(request, write=True)
    obj = _resource(user, rid)
    state = obj.current_workflow_state
    if state is None or state.current_task_state is None:
        raise HttpError(409, _("该信息资源不在审核中。"))
    task_state = state.current_task_state
    task = task_state.task.specific
    if payload.action not in {name for name, _, _ in task.get_actions(obj, user)}:
        audit.record(user, None, None, f"review.{payload.action}", obj, outcome="denied")
        raise PermissionDenied(_("您不是当前审核环节的审核员，或该操作不可用。"))
    extra = {"comment": payload.comment}
    if payload.action == "approve":
        extra["secrecy_confirmed"] = payload.secrecy_confirmed
    task.on_action(task_state, user, payload.action, **extra)
    return resource_out(Resource.objects.get(pk=obj.pk).specific)


@api.post("/resources/{rid}/publish", tags=[gettext_lazy("信息资源")],
          summary=gettext_lazy("直接发布（发布员，未配置审核流程时）"))
def publish_resource(request, rid: str):
    user = caller(request, write=True)
    obj = _resource(user, rid)
    if not policy.can_publish_resource(user, obj):
        raise PermissionDenied(_("您无权发布该信息资源。"))
    if obj.get_workflow() is not None:
        raise HttpError(409, _("该信息资源须经审核流程发布，请先提交审核。"))
    revision = obj.get_latest_revision() or obj.save_revision(user=user)
    revision.publish(user=user)
    obj.refresh_from_db()
    return resource_out(Resource.objects.get(pk=obj.pk).specific)


@api.delete("/resources/{rid}", tags=[gettext_lazy("信息资源")],
            summary=gettext_lazy("删除信息资源"), response={204: None})
def delete_resource(request, rid: str, confirm: bool = False):
    user = caller(request, write=True)
    obj = _resource(user, rid)
    library.delete_resource(user, obj, confirm=confirm)
    return Status(204, None)


# --- placements --------------------------------------------------------------------------

def _placements_for(user):
    if not user:
        return library.public_placements().select_related("resource", "site", "column")
    return library.placements_for(user)


@api.get("/placements", tags=[gettext_lazy("引用")], summary=gettext_lazy("引用列表"))
def list_placements(request, site: str | None = None, column: Id | None = None,
                    resource: str | None = None, state: str | None = None,
                    page: int = 1, page_size: int = 50):
    user = caller(request)
    qs = _placements_for(user)
    if site:
        qs = qs.filter(site__code=site)
    if column:
        qs = qs.filter(column_id=column)
    if resource:
        qs = qs.filter(resource__global_id=resource)
    if state:
        qs = qs.filter(state=state)
    return paginate(request, qs.order_by("site__code", "column_id", "-pinned", "sort_order"),
                    placement_out, page, page_size)


class PlacementIn(Schema):
    resource: str
    column: Id
    pinned: bool = False
    go_live_at: datetime | None = None


@api.post("/placements", tags=[gettext_lazy("引用")],
          summary=gettext_lazy("放置、推送或申请引用"), response={201: dict})
def create_placement(request, payload: PlacementIn):
    user = caller(request, write=True)
    r = _resource(user, payload.resource)
    col = Column.objects.filter(pk=payload.column).first()
    if col is None:
        raise HttpError(404, _("栏目不存在。"))
    p = library.place(user, r, col, pinned=payload.pinned, go_live_at=payload.go_live_at)
    return Status(201, placement_out(p))


def _placement(user, pid: int) -> Placement:
    p = _placements_for(user).filter(pk=pid).first()
    if p is None:
        raise Http404
    return p


ACTIONS = library.PLACEMENT_ACTIONS


@api.post("/placements/{pid}/{action}", tags=[gettext_lazy("引用")],
          summary=gettext_lazy("处理引用：accept/refuse（接收推送）、approve/reject（批准申请）、withdraw（撤下）"))
def act_on_placement(request, pid: Id, action: str):
    user = caller(request, write=True)
    if action not in ACTIONS:
        raise HttpError(404, _("未知操作“%(action)s”。") % {"action": action})
    return placement_out(ACTIONS[action](user, _placement(user, pid)))


class PlacementPatch(Schema):
    pinned: bool | None = None
    sort_order: SmallInt | None = None


@api.patch("/placements/{pid}", tags=[gettext_lazy("引用")], summary=gettext_lazy("置顶与排序"))
def patch_placement(request, pid: Id, payload: PlacementPatch):
    user = caller(request, write=True)
    return placement_out(library.update_placement(user, _placement(user, pid),
                                                  pinned=payload.pinned,
                                                  sort_order=payload.sort_order))


# --- intelligent Q&A (jiyue.qa.api) ------------------------------------------------------------
from jiyue.qa.api import router as _qa_router  # noqa: E402

api.add_router("/qa", _qa_router)

# --- search (jiyue.search.api) ------------------------------------------------------------------
from jiyue.search.api import router as _search_router  # noqa: E402

api.add_router("/search", _search_router)

# --- interaction: letters, 12345, 依申请公开, ratings and error reports, participation -----------
from jiyue.disclosure.api import router as _disclosure_router  # noqa: E402
from jiyue.feedback.api import router as _feedback_router  # noqa: E402
from jiyue.hotline.api import router as _hotline_router  # noqa: E402
from jiyue.letters.api import router as _letters_router  # noqa: E402
from jiyue.participation.api import router as _participation_router  # noqa: E402

api.add_router("/letters", _letters_router)
api.add_router("/hotline", _hotline_router)
api.add_router("/disclosure", _disclosure_router)
api.add_router("/feedback", _feedback_router)
api.add_router("/participation", _participation_router)
