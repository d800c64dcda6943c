"""An upstream provincial identity provider (OIDC), optional: "使用省统一身份认证登录".

Configured by settings (environment): JIYUE_UPSTREAM_OIDC_ISSUER, JIYUE_UPSTREAM_OIDC_CLIENT_ID,
JIYUE_UPSTREAM_OIDC_CLIENT_SECRET; register `<JIYUE_IDP_URL>/o/upstream/callback/` there as the
redirect URI. Authlib's Django client runs the code flow (PKCE S256, state and nonce in the
session, id_token verified against the upstream's JWKS).

A person coming from upstream is mapped onto a local account: the account already linked to
(issuer, sub); else the citizen whose verified e-mail address equals the upstream's verified
one; else a new citizen. Never a staff account: staff log in with their own account and second
factor. Every login, link and refusal is audited.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from jiyue import audit

from .models import UpstreamIdentity

SESSION_NEXT = "jiyue_upstream_next"
_apps: dict[tuple, object] = {}


def config() -> dict | None:
    issuer = (getattr(settings, "JIYUE_UPSTREAM_OIDC_ISSUER", "") or "").rstrip("/")
    client_id = getattr(settings, "JIYUE_UPSTREAM_OIDC_CLIENT_ID", "") or ""
    if not issuer or not client_id:
        return None
    return {"issuer": issuer, "client_id": client_id,
            "client_secret": getattr(settings, "JIYUE_UPSTREAM_OIDC_CLIENT_SECRET", "") or None}


def enabled() -> bool:
    return config() is not None


def client():
    """Authlib's Django client for the configured upstream (one per configuration)."""
    from authlib.integrations.django_client import OAuth

    conf = config()
    key = (conf["issuer"], conf["client_id"], conf["client_secret"])
    app = _apps.get(key)
    if app is None:
        oauth = OAuth()
        app = oauth.register(
            name="jiyue_upstream", client_id=conf["client_id"], client_secret=conf["client_secret"],
            server_metadata_url=f"{conf['issuer']}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid profile email phone", "code_challenge_method": "S256",
                           "timeout": 10})
        _apps.clear()
        _apps[key] = app
    return app


@never_cache
@require_GET
def login(request):
    """Send the person to the upstream provider."""
    from jiyue.identity import sso

    if not enabled():
        raise Http404
    request.session[SESSION_NEXT] = sso.local_path(request.GET.get("next", "")) or ""
    callback = request.build_absolute_uri(reverse("oidc_upstream:callback"))
    try:
        return client().authorize_redirect(request, callback)
    except Exception as exc:  # noqa: BLE001 - the upstream may be down or misconfigured
        audit.record(None, None, None, "oidc.upstream.login", config()["issuer"], outcome="failure",
                     reason="upstream_unreachable", error=type(exc).__name__)
        return _error(request, _("暂时无法连接省统一身份认证平台，请稍后再试，或使用本平台账号登录。"), 502)


@never_cache
@require_GET
def callback(request):
    """Back from upstream: verify, map onto a local account, log in."""
    from authlib.integrations.base_client.errors import OAuthError
    from joserfc.errors import JoseError

    from jiyue.identity import sso

    conf = config()
    if conf is None:
        raise Http404
    try:
        token = client().authorize_access_token(request)
    except (OAuthError, JoseError, ValueError, KeyError) as exc:
        audit.record(None, None, None, "oidc.upstream.login", conf["issuer"], outcome="failure",
                     reason=getattr(exc, "error", None) or type(exc).__name__)
        return _error(request, _("省统一身份认证未能完成，请重新登录。"), 400)
    claims = dict(token.get("userinfo") or {})
    if not claims.get("sub"):
        audit.record(None, None, None, "oidc.upstream.login", conf["issuer"], outcome="failure",
                     reason="no_id_token")
        return _error(request, _("省统一身份认证未能完成，请重新登录。"), 400)
    try:
        extra = client().userinfo(token=token)
        if extra.get("sub") == claims["sub"]:
            claims.update({k: v for k, v in extra.items() if k not in claims})
    except Exception:  # noqa: BLE001 - the id_token's claims are enough
        pass
    user, how = map_identity(conf["issuer"], claims)
    if user is None:
        return _error(request, how, 403)
    auth_login(request, user, backend=sso.backend())
    sso.begin(request, user)
    audit.record(user, None, None, "oidc.upstream.login", user, issuer=conf["issuer"], mapped=how)
    return redirect(request.session.pop(SESSION_NEXT, "") or reverse("identity:profile"))


def map_identity(issuer: str, claims: dict):
    """The local account for an upstream person: (user, "linked"|"email"|"created"), or
    (None, a Chinese message) when it may not log in."""
    User = get_user_model()
    sub = str(claims["sub"])[:255]
    link = UpstreamIdentity.objects.select_related("user").filter(issuer=issuer, sub=sub).first()
    if link is not None:
        user, how = link.user, "linked"
    else:
        user, how = None, None
        email = (claims.get("email") or "").strip()
        if email and claims.get("email_verified") is True:
            user = User.objects.filter(kind=User.KIND_CITIZEN, email__iexact=email,
                                       email_verified=True).first()
            how = "email" if user is not None else None
        if user is None:
            user, how = _create_citizen(claims), "created"
        try:
            with transaction.atomic():
                UpstreamIdentity.objects.create(issuer=issuer, sub=sub, user=user)
        except IntegrityError:  # a concurrent first login linked it
            user = UpstreamIdentity.objects.get(issuer=issuer, sub=sub).user
    if not user.is_active:
        audit.record(None, None, None, "oidc.upstream.login", user, outcome="denied",
                     reason="disabled", issuer=issuer)
        return None, _("账号已停用，请联系系统管理员。")
    if user.kind != User.KIND_CITIZEN:
        audit.record(None, None, None, "oidc.upstream.login", user, outcome="denied",
                     reason="staff_account", issuer=issuer)
        return None, _("工作人员请使用本平台账号登录。")
    if how != "linked":
        audit.record(user, None, None, "oidc.upstream.link", user, issuer=issuer, how=how)
    return user, how


def _create_citizen(claims: dict):
    from jiyue.accounts.models import normalise_mobile

    User = get_user_model()
    user = User(username=f"sso_{secrets.token_hex(8)}", kind=User.KIND_CITIZEN,
                real_name=(claims.get("name") or "")[:40])
    email = (claims.get("email") or "").strip()[:254]
    if email and claims.get("email_verified") is True \
            and not User.objects.filter(kind=User.KIND_CITIZEN, email__iexact=email).exists():
        user.email, user.email_verified = email, True
    mobile = normalise_mobile(claims.get("phone_number") or "")
    if len(mobile) == 11 and claims.get("phone_number_verified") is True:
        from jiyue.security.fields import blind_index

        if not User.objects.filter(mobile_index=blind_index("mobile", mobile)).exists():
            user.mobile, user.mobile_verified = mobile, True
    if claims.get("real_name_level") == User.REAL_NAME_VERIFIED:
        user.real_name_level = User.REAL_NAME_VERIFIED  # the provincial platform verified it
    user.set_unusable_password()
    user.save()
    return user


def _error(request, message, status):
    return render(request, "identity/error.html", {"message": message}, status=status)


def login_url(next_url: str = "") -> str:
    url = reverse("oidc_upstream:login")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


app_name = "oidc_upstream"
urlpatterns = [
    path("login/", login, name="login"),
    path("callback/", callback, name="callback"),
]
