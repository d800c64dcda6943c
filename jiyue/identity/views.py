"""The central pages on the identity host: login (also the OIDC provider's login and the Wagtail
admin's), logout, registration, password reset, the citizen's profile, and the start of single
sign-on for site hosts (`/account/sso/`)."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from jiyue import audit
from jiyue.accounts.models import User
from jiyue.security import ratelimit
from jiyue.security.fields import blind_index

from . import codes, services, sso
from .forms import (ChangePasswordForm, CodeForm, DeleteAccountForm, LoginForm, NewPasswordForm,
                    ProfileForm, RecipientForm, SecondFactorForm)
from .models import VerificationCode

PENDING = "identity_pending"        # a login waiting for its second factor
REGISTER = "identity_register"      # the address a registration code was sent to
RESET = "identity_reset"            # the address a reset code was sent to
CHANGE = "identity_change"          # the new address a change code was sent to
EXPORTED = "identity_exported"      # when this session downloaded the person's data
PENDING_SECONDS = 300
STEP_SECONDS = 15 * 60


def _security():
    from jiyue.accounts import security

    return security


def display_name(user) -> str:
    """How pages greet a person: the name, else the masked e-mail address or mobile number."""
    if user.real_name:
        return user.real_name
    if user.is_citizen and user.email:
        return codes.mask("email", user.email)
    if user.is_citizen and user.mobile:
        return codes.mask("sms", user.mobile)
    return user.get_username()


def _default_after_login(user) -> str:
    return "/admin/" if user.kind == User.KIND_STAFF else reverse("identity:profile")


def after_login_url(request, user, next_url: str) -> str:
    default = _default_after_login(user)
    target = sso.safe_next(request, next_url, default)
    if user.is_citizen and sso.local_path(target) and urlsplit(target).path.startswith("/admin"):
        return default  # citizens never enter the admin
    return target


def _next(request) -> str:
    value = request.POST.get("next") if request.method == "POST" else None
    return (value or request.GET.get("next") or "").strip()[:2000]


def _with_next(name: str, next_url: str) -> str:
    url = reverse(name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _page(request, template, status=200, **context):
    context.setdefault("next", _next(request))
    return render(request, f"identity/{template}", context, status=status)


def _refused(form, message):
    """Add a form-wide error to a form that may be unbound (a fresh form after a time-out)."""
    if not form.is_bound and not hasattr(form, "cleaned_data"):
        form.cleaned_data = {}
    form.add_error(None, message)
    return form


def _step(request, key) -> dict | None:
    data = request.session.get(key)
    if not isinstance(data, dict) or time.time() - data.get("at", 0) > STEP_SECONDS:
        request.session.pop(key, None)
        return None
    return data


# --- login and logout --------------------------------------------------------------------

def _complete_login(request, user, next_url):
    backend = getattr(user, "backend", None) or sso.backend()
    auth_login(request, user, backend=backend)
    sso.begin(request, user)
    security = _security()
    target = after_login_url(request, user, next_url)
    follow_up = None
    if security.second_factor_required(user) and not security.has_second_factor(user):
        follow_up = security.ENROL_URL
    elif security.password_expired(user):
        follow_up = security.PASSWORD_CHANGE_URL
    if follow_up:
        try:
            return HttpResponseRedirect(f"{reverse(follow_up)}?{urlencode({'next': target})}")
        except NoReverseMatch:
            pass
    return HttpResponseRedirect(target)


@sensitive_post_parameters("password", "code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    next_url = _next(request)
    security = _security()
    if request.method == "GET":
        request.session.pop(PENDING, None)
        if request.user.is_authenticated:
            return HttpResponseRedirect(after_login_url(request, request.user, next_url))
        return _page(request, "login.html", form=LoginForm(), step=1)

    if request.POST.get("step") == "2":
        pending = request.session.get(PENDING)
        if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
            request.session.pop(PENDING, None)
            form = _refused(LoginForm(), _("登录已超时，请重新输入账号和密码。"))
            return _page(request, "login.html", form=form, step=1)
        user = User.objects.filter(pk=pending.get("uid"), is_active=True).first()
        form = SecondFactorForm(request.POST)
        if user is not None and form.is_valid() \
                and security.verify_second_factor(request, user, form.cleaned_data["code"]):
            request.session.pop(PENDING, None)
            user.backend = pending.get("backend") or sso.backend()
            return _complete_login(request, user, pending.get("next", ""))
        until = security.locked_until(user.get_username()) if user is not None else None
        if user is None or until is not None:
            request.session.pop(PENDING, None)
            form = _refused(LoginForm(), security.lock_message(until) if until else _("请重新登录。"))
            return _page(request, "login.html", form=form, step=1, status=400)
        if form.is_valid():
            form.add_error("code", _("动态验证码错误，请重新输入。"))
        return _page(request, "login.html", form=form, step=2, next=pending.get("next", ""))

    form = LoginForm(request.POST)
    if form.is_valid():
        user, error = security.authenticate_user(request, form.cleaned_data["identifier"],
                                                 form.cleaned_data["password"])
        if user is None:
            form.add_error(None, error or _("账号或密码错误。"))
        elif security.second_factor_required(user) and security.has_second_factor(user):
            request.session[PENDING] = {"uid": user.pk, "at": time.time(), "next": next_url,
                                        "backend": getattr(user, "backend", None) or sso.backend()}
            return _page(request, "login.html", form=SecondFactorForm(), step=2)
        else:
            return _complete_login(request, user, next_url)
    return _page(request, "login.html", form=form, step=1)


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request):
    next_url = _next(request)
    if request.method == "POST":
        if request.user.is_authenticated:
            auth_logout(request)  # ends every site session of this login (signals.single_logout)
        target = sso.safe_next(request, next_url, reverse("identity:login"))
        return HttpResponseRedirect(target)
    if not request.user.is_authenticated:
        return HttpResponseRedirect(sso.safe_next(request, next_url, reverse("identity:login")))
    return _page(request, "logout.html", name=display_name(request.user))


# --- single sign-on: the identity host's side ----------------------------------------------

HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,252})(:\d{1,5})?$")


@never_cache
@require_GET
def sso_start(request):
    """`/account/sso/?site=<code>&host=<host>&next=<path>`: send a logged-in person back to the
    site host with a one-time ticket; ask anyone else to log in first."""
    from jiyue.platform.models import Site

    code = request.GET.get("site", "").strip()[:20]
    host = request.GET.get("host", "").strip().lower()[:260]
    next_path = sso.local_path(request.GET.get("next", "")) or "/"
    site = Site.objects.filter(code=code).first() if code else None
    if site is None or not HOST_RE.match(host) or sso.hostname_of(host) not in sso.site_hostnames(site):
        audit.record(request.user, None, None, "identity.sso.start", code or "-", outcome="denied",
                     reason="unknown_site_or_host", host=host)
        return _page(request, "error.html", status=400,
                     message=_("登录请求无效：网站或地址不属于本平台。"))
    if not request.user.is_authenticated:
        return HttpResponseRedirect(_with_next("identity:login", request.get_full_path()))
    if host == request.get_host().lower():
        return HttpResponseRedirect(next_path)
    ticket = sso.issue_ticket(request, site, host, next_path)
    return HttpResponseRedirect(sso.callback_url(request, host, ticket))


# --- registration and password reset -------------------------------------------------------

def _account_for(channel: str, value: str):
    if channel == VerificationCode.CHANNEL_EMAIL:
        return User.objects.filter(kind=User.KIND_CITIZEN, email__iexact=value).first()
    return User.objects.filter(mobile_index=blind_index("mobile", value)).first()


def _send_step(request, form, purpose, key, user=None, exists_check=None):
    """Send a code to the form's recipient; on success remember it under session[key]."""
    channel, value = form.cleaned_data["channel"], form.cleaned_data["recipient"]
    if exists_check is not None:
        message = exists_check(channel, value)
        if message:
            form.add_error("recipient", message)
            return False
    try:
        codes.send(request, channel, value, purpose, user=user)
    except codes.CodeError as exc:
        form.add_error(None, exc.message)
        return False
    request.session[key] = {"channel": channel, "recipient": value, "at": time.time()}
    return True


def _taken(channel, value):
    if _account_for(channel, value) is not None:
        if channel == VerificationCode.CHANNEL_EMAIL:
            return _("该电子邮箱已注册，请直接登录或找回密码。")
        return _("该手机号码已注册，请直接登录或找回密码。")
    return None


@sensitive_post_parameters("password1", "password2", "code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def register_view(request):
    next_url = _next(request)
    if request.user.is_authenticated:
        return HttpResponseRedirect(after_login_url(request, request.user, next_url))
    state = _step(request, REGISTER)
    step = request.POST.get("step") if request.method == "POST" else None
    if step == "verify" and state:
        form = NewPasswordForm(request.POST)
        if form.is_valid():
            channel, value = state["channel"], state["recipient"]
            if not ratelimit.hit("register", ratelimit.client_key(request), request=request):
                audit.record(None, None, None, "identity.register", codes.mask(channel, value),
                             outcome="denied", reason="rate_limited")
                form.add_error(None, _("注册过于频繁，请稍后再试。"))
            elif (message := _taken(channel, value)) is not None:
                form.add_error(None, message)
            else:
                try:
                    codes.verify(request, channel, value, VerificationCode.PURPOSE_REGISTER,
                                 form.cleaned_data["code"])
                except codes.CodeError as exc:
                    form.add_error("code", exc.message)
                else:
                    user = services.create_citizen(
                        email=value if channel == "email" else "",
                        mobile=value if channel == "sms" else "",
                        password=form.cleaned_data["password1"])
                    request.session.pop(REGISTER, None)
                    messages.success(request, _("注册成功，欢迎使用。"))
                    return _complete_login(request, user, next_url)
        return _page(request, "register.html", form=form, step="verify",
                     recipient=codes.mask(state["channel"], state["recipient"]))
    form = RecipientForm(request.POST if step == "send" else None)
    if step == "send" and form.is_valid() \
            and _send_step(request, form, VerificationCode.PURPOSE_REGISTER, REGISTER,
                           exists_check=_taken):
        state = request.session[REGISTER]
        return _page(request, "register.html", form=NewPasswordForm(), step="verify",
                     recipient=codes.mask(state["channel"], state["recipient"]), sent=True)
    if step == "verify" and not state:
        _refused(form, _("操作已超时，请重新获取验证码。"))
    return _page(request, "register.html", form=form, step="send")


@sensitive_post_parameters("password1", "password2", "code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def reset_view(request):
    state = _step(request, RESET)
    step = request.POST.get("step") if request.method == "POST" else None
    if step == "verify" and state:
        user = _account_for(state["channel"], state["recipient"])
        if user is not None and not user.is_citizen:
            user = None
        form = NewPasswordForm(request.POST, user=user)
        if form.is_valid():
            try:
                if user is None:
                    raise codes.CodeError(_("验证码错误，请重新获取。"), "no_account")
                codes.verify(request, state["channel"], state["recipient"],
                             VerificationCode.PURPOSE_RESET, form.cleaned_data["code"], user=user)
            except codes.CodeError as exc:
                if exc.reason == "no_account":
                    audit.record(None, None, None, "identity.password_reset",
                                 codes.mask(state["channel"], state["recipient"]),
                                 outcome="failure", reason="no_account")
                form.add_error("code", exc.message)
            else:
                user.set_password(form.cleaned_data["password1"])
                user.save(update_fields=["password"])  # User.save dates the new password
                sso.end_all_for(user)
                audit.record(user, None, None, "identity.password_reset", user)
                request.session.pop(RESET, None)
                messages.success(request, _("密码已重置，请使用新密码登录。"))
                return HttpResponseRedirect(_with_next("identity:login", _next(request)))
        return _page(request, "reset.html", form=form, step="verify",
                     recipient=codes.mask(state["channel"], state["recipient"]))
    form = RecipientForm(request.POST if step == "send" else None)
    if step == "send" and form.is_valid():
        channel, value = form.cleaned_data["channel"], form.cleaned_data["recipient"]
        user = _account_for(channel, value)
        sent = True
        if user is not None and user.is_citizen:
            sent = _send_step(request, form, VerificationCode.PURPOSE_RESET, RESET, user=user)
        else:
            # The same answer whether or not the account exists (no enumeration of accounts).
            audit.record(None, None, None, "identity.code.send", codes.mask(channel, value),
                         outcome="failure", reason="no_account", purpose="reset")
            request.session[RESET] = {"channel": channel, "recipient": value, "at": time.time()}
        if sent:
            return _page(request, "reset.html", form=NewPasswordForm(), step="verify",
                         recipient=codes.mask(channel, value), sent=True)
    if step == "verify" and not state:
        _refused(form, _("操作已超时，请重新获取验证码。"))
    return _page(request, "reset.html", form=form, step="send")


# --- the citizen's own pages ---------------------------------------------------------------

def citizen_required(view):
    """Logged in (else to the login page) and a citizen (staff have the admin instead)."""
    @login_required
    def wrapped(request, *args, **kwargs):
        if not request.user.is_citizen:
            return redirect("/admin/")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def profile_view(request):
    user = request.user
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        changed = list(form.changed_data)
        form.save()
        audit.record(user, None, None, "identity.profile.update", user, fields=changed)
        messages.success(request, _("个人信息已保存。"))
        return redirect("identity:profile")
    return _page(request, "profile.html", form=form, person=user, name=display_name(user))


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def change_contact_view(request, channel):
    """A new e-mail address or mobile number, confirmed with a code sent to it."""
    user = request.user
    purpose = (VerificationCode.PURPOSE_CHANGE_EMAIL if channel == "email"
               else VerificationCode.PURPOSE_CHANGE_MOBILE)
    key = f"{CHANGE}_{channel}"
    state = _step(request, key)
    step = request.POST.get("step") if request.method == "POST" else None

    def taken(ch, value):
        other = _account_for(ch, value)
        if other is not None and other.pk != user.pk:
            return _("该电子邮箱已被其他账号使用。") if ch == "email" else _("该手机号码已被其他账号使用。")
        return None

    if step == "verify" and state:
        form = CodeForm(request.POST)
        if form.is_valid():
            value = state["recipient"]
            try:
                if (message := taken(channel, value)) is not None:
                    raise codes.CodeError(message, "taken")
                codes.verify(request, channel, value, purpose, form.cleaned_data["code"], user=user)
            except codes.CodeError as exc:
                form.add_error("code", exc.message)
            else:
                if channel == "email":
                    user.email, user.email_verified = value, True
                    fields = ["email", "email_verified"]
                else:
                    user.mobile, user.mobile_verified = value, True
                    fields = ["mobile", "mobile_verified"]
                user.save(update_fields=fields)
                audit.record(user, None, None, f"identity.profile.{channel}", user)
                request.session.pop(key, None)
                messages.success(request, _("电子邮箱已更换。") if channel == "email" else _("手机号码已更换。"))
                return redirect("identity:profile")
        return _page(request, "contact.html", form=form, step="verify", channel=channel,
                     recipient=codes.mask(channel, state["recipient"]))
    form = RecipientForm(request.POST if step == "send" else None, channel=channel)
    if step == "send" and form.is_valid() \
            and _send_step(request, form, purpose, key, user=user, exists_check=taken):
        return _page(request, "contact.html", form=CodeForm(), step="verify", channel=channel,
                     recipient=codes.mask(channel, form.cleaned_data["recipient"]), sent=True)
    if step == "verify" and not state:
        _refused(form, _("操作已超时，请重新获取验证码。"))
    return _page(request, "contact.html", form=form, step="send", channel=channel)


@sensitive_post_parameters("old_password", "password1", "password2")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def password_view(request):
    user = request.user
    form = ChangePasswordForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        user.set_password(form.cleaned_data["password1"])
        user.save(update_fields=["password"])  # User.save dates the new password
        update_session_auth_hash(request, user)
        sso.current(request)  # the session key changed: keep single logout working
        audit.record(user, None, None, "identity.password_change", user)
        messages.success(request, _("密码已修改。"))
        return redirect("identity:profile")
    return _page(request, "password.html", form=form)


@never_cache
@require_GET
@citizen_required
def export_view(request):
    """The person's own data as a JSON download (profile plus every registered part)."""
    user = request.user
    data = services.export_user_data(user)
    request.session[EXPORTED] = time.time()
    audit.record(user, None, None, "identity.export", user, parts=sorted(k for k in data if k not in ("format", "exported_at")))
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="personal-data-{timezone.localdate():%Y%m%d}.json"'
    response["Cache-Control"] = "no-store"
    return response


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def delete_view(request):
    user = request.user
    exported = time.time() - float(request.session.get(EXPORTED) or 0) < 3600
    form = DeleteAccountForm(request.POST or None, user=user)
    if request.method == "POST":
        if not exported:
            form.add_error(None, _("注销前请先下载您的个人数据。"))
        if form.is_valid() and exported:
            services.delete_account(request, user)
            request.session.flush()
            request.user = AnonymousUser()
            return _page(request, "deleted.html")
        if form.errors.get("password"):
            audit.record(user, None, None, "identity.delete_account", user, outcome="failure",
                         reason="wrong_password")
    return _page(request, "delete.html", form=form, exported=exported)
