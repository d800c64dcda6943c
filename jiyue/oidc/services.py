"""Linked systems (对接系统) and the tokens issued to them. Every change is audited.

    system, secret = services.register(actor, name="安徽政务服务网", kind="gov_service",
                                       redirect_uris="https://www.ahzwfw.gov.cn/oidc/callback")
    services.update(actor, system, skip_consent=True)
    services.set_enabled(actor, system, False)     # revokes every token issued to it
    secret = services.reset_secret(actor, system)  # shown once, stored hashed
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from jiyue import audit

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,99}$")
LOOPBACK_NAMES = {"localhost"}


# --- who may ----------------------------------------------------------------------------

def can_manage(user) -> bool:
    """Only the 系统管理员 registers and changes linked systems (superusers exist only in
    demo and tests)."""
    from jiyue.accounts import policy
    from jiyue.accounts.models import Role

    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser) or policy.has_role(user, Role.SYSTEM_ADMIN)


def _require(actor, action: str, obj=None) -> None:
    if not can_manage(actor):
        audit.record(actor, None, None, action, obj, outcome="denied")
        raise PermissionDenied(_("只有系统管理员可以管理对接系统。"))


# --- validation --------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    host = (host or "").lower().rstrip(".")
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def clean_uris(text: str, *, required: bool) -> str:
    """Redirect URIs, one per line or separated by spaces: absolute https URLs, or http on
    this machine (localhost, *.localhost, 127.0.0.1, ::1) for development. Exact match: no
    wildcards, no fragments, no user names. Returns them joined by spaces."""
    uris = (text or "").split()
    if required and not uris:
        raise ValidationError(_("请至少填写一个回调地址。"))
    errors = []
    seen = []
    for uri in uris:
        if len(uri) > 2000:
            errors.append(_("地址过长（最多 2000 个字符）：%(uri)s") % {"uri": uri[:60] + "…"})
            continue
        try:
            parts = urlsplit(uri)
            host = parts.hostname or ""
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            errors.append(_("不是有效的网址：%(uri)s") % {"uri": uri})
            continue
        if parts.scheme not in ("https", "http") or not host:
            errors.append(_("必须是以 https:// 开头的完整网址：%(uri)s") % {"uri": uri})
        elif parts.scheme == "http" and not is_loopback(host):
            errors.append(_("只有本机地址（localhost、127.0.0.1）可以使用 http，其他地址必须使用 https：%(uri)s")
                          % {"uri": uri})
        elif "*" in uri:
            errors.append(_("回调地址必须精确填写，不能使用通配符：%(uri)s") % {"uri": uri})
        elif parts.fragment or "#" in uri:
            errors.append(_("回调地址不能包含 # 片段：%(uri)s") % {"uri": uri})
        elif parts.username or parts.password:
            errors.append(_("回调地址不能包含用户名或密码：%(uri)s") % {"uri": uri})
        elif uri not in seen:
            seen.append(uri)
    if errors:
        raise ValidationError(errors)
    return " ".join(seen)


def clean_client_id(value: str, *, exclude_pk=None) -> str:
    from oauth2_provider.models import get_application_model

    value = (value or "").strip()
    if not CLIENT_ID_RE.match(value):
        raise ValidationError(_("客户端标识只能包含字母、数字、点、下划线和连字符，3 到 100 个字符。"))
    qs = get_application_model().objects.filter(client_id=value)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    if qs.exists():
        raise ValidationError(_("客户端标识已被使用。"))
    return value


# --- linked systems ----------------------------------------------------------------------

FIELDS = ("name", "client_id", "kind", "description", "contact", "redirect_uris",
          "post_logout_redirect_uris", "confidential", "skip_consent")


def _snapshot(system) -> dict:
    app = system.application
    return {"name": app.name, "client_id": app.client_id, "kind": system.kind,
            "description": system.description, "contact": system.contact,
            "redirect_uris": app.redirect_uris,
            "post_logout_redirect_uris": app.post_logout_redirect_uris,
            "confidential": app.client_type == app.CLIENT_CONFIDENTIAL,
            "skip_consent": app.skip_authorization, "enabled": system.enabled}


def register(actor, *, name: str, redirect_uris: str, client_id: str = "", kind: str = "other",
             post_logout_redirect_uris: str = "", confidential: bool = True,
             skip_consent: bool = False, description: str = "", contact: str = ""):
    """Register a linked system. Returns (system, secret): the secret in plain text, to be
    shown once (stored hashed); None for a public client, which has none."""
    from oauth2_provider.generators import generate_client_id, generate_client_secret
    from oauth2_provider.models import get_application_model

    from .models import LinkedSystem

    _require(actor, "oidc.client.create", name)
    Application = get_application_model()
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("请填写系统名称。")})
    errors = {}
    try:
        client_id = clean_client_id(client_id) if client_id else generate_client_id()
    except ValidationError as exc:
        errors["client_id"] = exc.messages
    try:
        redirect_uris = clean_uris(redirect_uris, required=True)
    except ValidationError as exc:
        errors["redirect_uris"] = exc.messages
    try:
        post_logout_redirect_uris = clean_uris(post_logout_redirect_uris, required=False)
    except ValidationError as exc:
        errors["post_logout_redirect_uris"] = exc.messages
    if kind not in dict(LinkedSystem.KINDS):
        errors["kind"] = [_("请选择系统类型。")]
    if errors:
        raise ValidationError(errors)
    secret = generate_client_secret()
    app = Application(
        name=name[:255], client_id=client_id, user=None,
        client_type=Application.CLIENT_CONFIDENTIAL if confidential else Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uris, post_logout_redirect_uris=post_logout_redirect_uris,
        skip_authorization=bool(skip_consent), algorithm=Application.RS256_ALGORITHM,
        client_secret=secret, hash_client_secret=True)
    app.full_clean()
    with transaction.atomic():
        app.save()
        system = LinkedSystem.objects.create(application=app, kind=kind,
                                             description=(description or "").strip(),
                                             contact=(contact or "").strip()[:100],
                                             created_by=actor if actor.is_authenticated else None)
        audit.record(actor, None, None, "oidc.client.create", system,
                     client_id=app.client_id, **{k: v for k, v in _snapshot(system).items()
                                                 if k not in ("name", "client_id")})
    return system, (secret if confidential else None)


def update(actor, system, **changes):
    """Change a linked system's registration (any of FIELDS except confidential)."""
    _require(actor, "oidc.client.update", system)
    app = system.application
    before = _snapshot(system)
    errors = {}
    if "name" in changes:
        if not (changes["name"] or "").strip():
            errors["name"] = [_("请填写系统名称。")]
        app.name = (changes["name"] or "").strip()[:255]
    if "client_id" in changes and changes["client_id"] != app.client_id:
        errors["client_id"] = [_("客户端标识登记后不能修改。")]
    for field, required in (("redirect_uris", True), ("post_logout_redirect_uris", False)):
        if field in changes:
            try:
                setattr(app, field, clean_uris(changes[field], required=required))
            except ValidationError as exc:
                errors[field] = exc.messages
    if "kind" in changes:
        from .models import LinkedSystem

        if changes["kind"] not in dict(LinkedSystem.KINDS):
            errors["kind"] = [_("请选择系统类型。")]
        system.kind = changes["kind"]
    if "confidential" in changes and bool(changes["confidential"]) != before["confidential"]:
        errors["confidential"] = [_("客户端类型登记后不能修改，请重新登记。")]
    if "skip_consent" in changes:
        app.skip_authorization = bool(changes["skip_consent"])
    if "description" in changes:
        system.description = (changes["description"] or "").strip()
    if "contact" in changes:
        system.contact = (changes["contact"] or "").strip()[:100]
    if errors:
        system.refresh_from_db()
        app.refresh_from_db()
        raise ValidationError(errors)
    app.full_clean()
    with transaction.atomic():
        app.save()
        system.save()
        after = _snapshot(system)
        changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
        if changed:
            audit.record(actor, None, None, "oidc.client.update", system,
                         client_id=app.client_id, changes=changed)
    return system


def set_enabled(actor, system, enabled: bool):
    """Enable or disable a linked system. Disabling revokes every token issued to it."""
    action = "oidc.client.enable" if enabled else "oidc.client.disable"
    _require(actor, action, system)
    with transaction.atomic():
        system.enabled = bool(enabled)
        system.save(update_fields=["enabled", "updated_at"])
        revoked = 0 if enabled else revoke_tokens(application=system.application)
        audit.record(actor, None, None, action, system, client_id=system.application.client_id,
                     revoked_tokens=revoked)
    return system


def reset_secret(actor, system) -> str:
    """A new client secret for a confidential client, returned once; the old one stops
    working at once."""
    from oauth2_provider.generators import generate_client_secret

    _require(actor, "oidc.client.secret", system)
    app = system.application
    if app.client_type != app.CLIENT_CONFIDENTIAL:
        raise ValidationError(_("公开客户端没有密钥。"))
    secret = generate_client_secret()
    with transaction.atomic():
        app.client_secret = secret
        app.hash_client_secret = True
        app.save(update_fields=["client_secret", "hash_client_secret", "updated"])
        audit.record(actor, None, None, "oidc.client.secret", system, client_id=app.client_id)
    return secret


def client_enabled(application) -> bool:
    from .models import LinkedSystem

    if application is None:
        return False
    cached = getattr(application, "_jiyue_enabled", None)
    if cached is None:
        cached = LinkedSystem.objects.filter(application_id=application.pk, enabled=True).exists()
        application._jiyue_enabled = cached
    return cached


# --- people and tokens ---------------------------------------------------------------

def subject_for(user) -> str:
    """The `sub` claim of this person (random, stable, not the database id)."""
    from .models import Subject

    return Subject.for_user(user)


def revoke_tokens(*, user=None, application=None) -> int:
    """Revoke every refresh token, access token, id token and pending code of a person or
    of a client. Returns how many tokens were revoked."""
    from django.utils import timezone
    from oauth2_provider.models import (get_access_token_model, get_grant_model,
                                        get_id_token_model, get_refresh_token_model)

    scope = {}
    if user is not None:
        scope["user"] = user
    if application is not None:
        scope["application"] = application
    if not scope:
        raise ValueError("revoke_tokens needs a user or an application")
    with transaction.atomic():
        now = timezone.now()
        refreshed = get_refresh_token_model().objects.filter(revoked__isnull=True, **scope) \
            .update(revoked=now, updated=now, access_token=None)
        AccessToken = get_access_token_model()
        accessed = AccessToken.objects.filter(**scope).delete()[1].get(AccessToken._meta.label, 0)
        get_id_token_model().objects.filter(**scope).delete()
        get_grant_model().objects.filter(**scope).delete()
    return refreshed + accessed
