"""The provider's endpoints: django-oauth-toolkit's views with jiyue's rules and audit.

/o/authorize/  login through the central login page, staff second factor, Chinese consent
/o/token/      code and refresh grants (rate-limited per address), refusals audited
/o/userinfo/   claims for an access token, each disclosure audited
/o/logout/     RP-initiated logout: ends the central session (and with it every site's)
/.well-known/openid-configuration and /o/.well-known/openid-configuration, JWKS
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from oauth2_provider import views as dot
from oauth2_provider.exceptions import (ClientIdMissmatch, FatalClientError, InvalidIDTokenError,
                                        InvalidOIDCClientError, InvalidOIDCRedirectURIError,
                                        LogoutDenied, OAuthToolkitError)
from oauth2_provider.models import get_access_token_model, get_application_model
from oauthlib.oauth2.rfc6749 import errors as oauth_errors

from jiyue import audit

from . import events

# What the person sees when a request cannot go back to the client (Chinese, by oauthlib error).
AUTHORIZE_ERRORS = [
    (oauth_errors.InvalidClientIdError, gettext_lazy("该系统未在平台登记，或已被停用。")),
    (oauth_errors.MissingClientIdError, gettext_lazy("认证请求缺少客户端标识（client_id）。")),
    (oauth_errors.MismatchingRedirectURIError, gettext_lazy("回调地址与该系统登记的不一致。")),
    (oauth_errors.InvalidRedirectURIError, gettext_lazy("回调地址不正确。")),
    (oauth_errors.MissingRedirectURIError, gettext_lazy("认证请求缺少回调地址。")),
    (oauth_errors.OAuth2Error, gettext_lazy("认证请求不完整或格式错误。")),
]
LOGOUT_ERRORS = {
    ClientIdMissmatch: gettext_lazy("身份令牌与发起退出的系统不一致。"),
    InvalidOIDCClientError: gettext_lazy("发起退出的系统未在平台登记，或已被停用。"),
    InvalidOIDCRedirectURIError: gettext_lazy("退出后的跳转地址未登记。"),
    InvalidIDTokenError: gettext_lazy("身份令牌无效：已过期、已撤销、格式错误或签名不符。"),
    LogoutDenied: gettext_lazy("您已取消退出，仍保持登录。"),
}


def _linked(application):
    """The audit object for a client: its linked system, or its client id."""
    if application is None:
        return None
    return getattr(application, "linked_system", None) or application.client_id


def _client_by_id(client_id):
    if not client_id:
        return None
    return get_application_model().objects.filter(client_id=str(client_id)[:255]).first()


def _user_by_name(username):
    from django.contrib.auth import get_user_model

    if not username:
        return None
    return get_user_model().objects.filter(username=username).first()


def login_url() -> str:
    """The central login page (jiyue.identity) on the identity host."""
    try:
        return reverse("identity:login")
    except NoReverseMatch:
        return settings.LOGIN_URL


class AuthorizationView(dot.AuthorizationView):
    template_name = "oidc/authorize.html"

    def get_login_url(self):
        return login_url()

    def dispatch(self, request, *args, **kwargs):
        events.begin()
        if request.user.is_authenticated:
            gate = self.second_factor_gate(request)
            if gate is not None:
                return gate
        return super().dispatch(request, *args, **kwargs)

    def second_factor_gate(self, request):
        """Staff who must pass a second factor get no code until their session is verified."""
        from jiyue.accounts import security

        user = request.user
        if not (security.staff_2fa_enforced() and security.second_factor_required(user)):
            return None
        if security.otp_verified(request):
            return None
        client = _client_by_id(request.GET.get("client_id") or request.POST.get("client_id"))
        audit.record(user, None, None, "oidc.authorize", _linked(client), outcome="denied",
                     reason="second_factor_missing")
        name = security.VERIFY_URL if security.has_second_factor(user) else security.ENROL_URL
        try:
            target = reverse(name)
        except NoReverseMatch:
            target = login_url()
        return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")

    def get(self, request, *args, **kwargs):
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        # error_description goes to the client in the redirect: ASCII (RFC 6749 section 4.1.2.1).
        problem = None
        if not credentials.get("state"):
            problem = ("state_missing", "The state parameter is required.")
        elif credentials.get("code_challenge_method") != "S256":
            problem = ("pkce_method", "PKCE with code_challenge_method=S256 is required.")
        if problem:
            events.note(reason=problem[0])
            error = OAuthToolkitError(
                error=oauth_errors.InvalidRequestError(description=problem[1],
                                                       state=credentials.get("state")),
                redirect_uri=credentials["redirect_uri"])
            return self.error_response(error, _client_by_id(credentials.get("client_id")))
        return super().get(request, *args, **kwargs)

    def form_valid(self, form):
        client = _client_by_id(form.cleaned_data.get("client_id"))
        allow = bool(form.cleaned_data.get("allow"))
        audit.record(self.request.user, None, None, "oidc.consent", _linked(client),
                     outcome="success" if allow else "denied",
                     scope=form.cleaned_data.get("scope", ""))
        return super().form_valid(form)

    def create_authorization_response(self, request, scopes, credentials, allow):
        client = _client_by_id(credentials.get("client_id"))
        # A refusal raises OAuthToolkitError: error_response records it.
        result = super().create_authorization_response(request, scopes, credentials, allow)
        audit.record(request.user, None, None, "oidc.authorize", _linked(client),
                     outcome="success" if allow else "denied",
                     scope=scopes if isinstance(scopes, str) else " ".join(scopes),
                     skip_consent=bool(client and client.skip_authorization))
        return result

    def error_response(self, error, application, **kwargs):
        oauth_error = error.oauthlib_error
        client = application or _client_by_id(getattr(oauth_error, "client_id", None)
                                              or self.request.GET.get("client_id"))
        detail = {"error": oauth_error.error, "redirected": not isinstance(error, FatalClientError)}
        if client is None:
            detail["client_id"] = self.request.GET.get("client_id", "")[:100]
        detail.update(events.collected())
        audit.record(self.request.user, None, None, "oidc.authorize", _linked(client),
                     outcome="failure", **detail)
        kwargs.setdefault("message", next((m for cls, m in AUTHORIZE_ERRORS
                                           if isinstance(oauth_error, cls)), _("认证请求无效。")))
        return super().error_response(error, application, **kwargs)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        app = kwargs.get("application")
        if app is not None:
            ctx["linked_system"] = getattr(app, "linked_system", None)
        return ctx


class TokenView(dot.TokenView):
    def post(self, request, *args, **kwargs):
        from jiyue.security import ratelimit

        events.begin()
        grant_type = request.POST.get("grant_type", "")[:40]
        client_id = request.POST.get("client_id") or _basic_client_id(request)
        if not ratelimit.hit("token", ratelimit.client_key(request), request=request):
            audit.record(None, None, None, "oidc.token", _linked(_client_by_id(client_id)) or client_id,
                         outcome="denied", reason="rate_limited", grant_type=grant_type)
            # For the client's software, not a person: ASCII, as RFC 6749 wants error_description.
            response = JsonResponse({"error": "temporarily_unavailable",
                                     "error_description": "Too many token requests; retry later."},
                                    status=429)
            response["Retry-After"] = "60"
            return response
        response = super().post(request, *args, **kwargs)
        if response.status_code != 200:
            try:
                error = json.loads(response.content or b"{}").get("error", "")
            except ValueError:
                error = ""
            detail = events.collected()
            user = _user_by_name(detail.get("user"))
            denied = detail.get("reason") in ("account_disabled", "client_disabled", "code_replayed",
                                              "refresh_token_reused")
            audit.record(user, None, None, "oidc.token",
                         _linked(_client_by_id(client_id)) or (client_id or "")[:100],
                         outcome="denied" if denied else "failure", error=error,
                         grant_type=grant_type, **detail)
        return response


def _basic_client_id(request):
    import base64

    auth = request.headers.get("Authorization", "")
    if not auth.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(auth.split(None, 1)[1]).decode("utf-8")
    except (ValueError, UnicodeDecodeError, IndexError):
        return None
    from urllib.parse import unquote_plus

    return unquote_plus(decoded.split(":", 1)[0])


class RevokeTokenView(dot.RevokeTokenView):
    def post(self, request, *args, **kwargs):
        events.begin()
        response = super().post(request, *args, **kwargs)
        client_id = request.POST.get("client_id") or _basic_client_id(request)
        audit.record(None, None, None, "oidc.revoke",
                     _linked(_client_by_id(client_id)) or (client_id or "")[:100],
                     outcome="success" if response.status_code == 200 else "failure",
                     token_type_hint=request.POST.get("token_type_hint", "")[:20],
                     **events.collected())
        return response


class UserInfoView(dot.UserInfoView):
    """Claims for an access token. Each answer hands personal data to a linked system: audited."""

    def _create_userinfo_response(self, request):
        events.begin()
        response = super()._create_userinfo_response(request)
        token = _bearer_token(request)
        client = user = None
        if response.status_code == 200:
            access = token and get_access_token_model().objects.select_related("application", "user") \
                .filter(token_checksum=hashlib.sha256(token.encode("utf-8")).hexdigest()).first()
            if access:
                client, user = access.application, access.user
            claims = json.loads(response.content or b"{}")
            audit.record(user, None, None, "oidc.userinfo", _linked(client),
                         claims=sorted(claims))
        else:
            audit.record(None, None, None, "oidc.userinfo", None, outcome="failure",
                         status=response.status_code, **events.collected())
        return response


def _bearer_token(request):
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth.split(None, 1)[1].strip()
    return None


class LogoutView(dot.RPInitiatedLogoutView):
    """RP-initiated logout. Ends the central session with django.contrib.auth.logout: the
    identity app's single logout then ends every site session created from it."""

    template_name = "oidc/logout.html"

    def dispatch(self, request, *args, **kwargs):
        events.begin()
        return super().dispatch(request, *args, **kwargs)

    def validate_logout_request_user(self, id_token_hint, client_id):
        from jwcrypto.common import JWException

        try:
            return super().validate_logout_request_user(id_token_hint, client_id)
        except (ValueError, TypeError, KeyError, AttributeError, JWException):
            # Not even a well-formed JWT (e.g. bytes that are not UTF-8 JSON).
            raise InvalidIDTokenError() from None

    def get_request_application(self, id_token, client_id):
        from .services import client_enabled

        if client_id:
            app = _client_by_id(client_id)
            if app is None or not client_enabled(app):
                raise InvalidOIDCClientError()
            return app
        if id_token:
            return id_token.application
        return None

    def do_logout(self, application=None, post_logout_redirect_uri=None, state=None, token_user=None):
        user = self.request.user if self.request.user.is_authenticated else token_user
        audit.record(user, None, None, "oidc.logout", _linked(application),
                     ended_session=self.request.user.is_authenticated,
                     post_logout_redirect_uri=(post_logout_redirect_uri or "")[:200])
        return super().do_logout(application, post_logout_redirect_uri, state, token_user)

    def error_response(self, error):
        audit.record(self.request.user, None, None, "oidc.logout",
                     _linked(_client_by_id(self.request.GET.get("client_id")
                                           or self.request.POST.get("client_id"))),
                     outcome="denied" if isinstance(error, LogoutDenied) else "failure",
                     error=type(error).__name__)
        message = LOGOUT_ERRORS.get(type(error), _("退出请求无效。"))
        return self.render_to_response({"error": error, "message": message},
                                       status=error.status_code)


class DiscoveryView(dot.ConnectDiscoveryInfoView):
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data["grant_types_supported"] = ["authorization_code", "refresh_token"]
        data["code_challenge_methods_supported"] = ["S256"]
        data["revocation_endpoint"] = self._get_endpoint_url(request, "revoke-token", required=True)
        data["claims_parameter_supported"] = False
        data["request_parameter_supported"] = False
        data["ui_locales_supported"] = ["zh-CN"]
        new = JsonResponse(data)
        for header in ("Access-Control-Allow-Origin",):
            if header in response:
                new[header] = response[header]
        return new


JwksView = dot.JwksInfoView
