"""Staff security pages in the admin: TOTP enrolment and verification, changing one's own
password, and 账号安全 (locked accounts, second-factor devices) for the 安全管理员."""

from __future__ import annotations

import base64

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue import audit
from jiyue.core.admin_views import AdminPage, paginate

from . import policy, security
from .forms import OtpCodeForm
from .models import RoleGrant, User


def _next(request, default="wagtailadmin_home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse(default)


def _qr_svg(data: str) -> str:
    import segno

    return segno.make(data, error="m").svg_inline(scale=5, dark="#000", light="#fff")


def _pending_device(user):
    """The user's unconfirmed TOTP device (made on the first visit, kept until confirmed)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("身份验证器"), confirmed=False)
    return device


class OtpEnrolView(AdminPage):
    """设置动态验证码: scan the QR code (or type the secret) into an authenticator app, confirm
    with a first code. Reachable before the second factor is verified."""

    template_name = "accounts/security/otp_enrol.html"
    page_title = gettext_lazy("设置动态验证码")
    header_icon = "key"

    def dispatch(self, request, *args, **kwargs):
        if security.has_second_factor(request.user) and not security.otp_verified(request):
            # A device exists: this session proves it first (no replacing a device unseen).
            return redirect(f"{reverse(security.VERIFY_URL)}?next={_next(request)}")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, form=None, **kwargs):
        user = self.request.user
        ctx = {**super().get_context_data(**kwargs), "next": _next(self.request),
               "enrolled": security.has_second_factor(user),
               "required": security.second_factor_required(user),
               "demo_exempt": user.is_demo and security.demo_platform()}
        if not ctx["enrolled"]:
            device = _pending_device(user)
            ctx.update(form=form or OtpCodeForm(),
                       qr=mark_safe(_qr_svg(device.config_url)),  # noqa: S308 - segno's own SVG
                       secret=base64.b32encode(device.bin_key).decode(),
                       issuer=getattr(settings, "OTP_TOTP_ISSUER", ""))
        return ctx

    def post(self, request, *args, **kwargs):
        import django_otp

        user = request.user
        if security.has_second_factor(user):
            return redirect(_next(request))
        form = OtpCodeForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                device = _pending_device(user)
                ok = device.verify_token(form.cleaned_data["code"])
                if ok:
                    device.confirmed = True
                    device.save(update_fields=["confirmed"])
            if ok:
                django_otp.login(request, device)
                audit.record(user, None, None, "auth.otp_enrol", user, username=user.username)
                messages.success(request, _("动态验证码已启用。以后登录时请输入身份验证器中的验证码。"))
                return redirect(_next(request))
            audit.record(user, None, None, "auth.otp_enrol", user, outcome="failure",
                         username=user.username)
            form.add_error("code", _("验证码不正确，请确认手机时间准确后重试。"))
        return self.render_to_response(self.get_context_data(form=form))


class OtpVerifyView(AdminPage):
    """输入动态验证码: the second step of logging in to the admin."""

    template_name = "accounts/security/otp_verify.html"
    page_title = gettext_lazy("动态验证码")
    header_icon = "key"

    def dispatch(self, request, *args, **kwargs):
        if not security.has_second_factor(request.user):
            return redirect(f"{reverse(security.ENROL_URL)}?next={_next(request)}")
        if security.otp_verified(request):
            return redirect(_next(request))
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, form=None, **kwargs):
        return {**super().get_context_data(**kwargs), "form": form or OtpCodeForm(),
                "next": _next(self.request)}

    def post(self, request, *args, **kwargs):
        user = request.user
        form = OtpCodeForm(request.POST)
        until = security.locked_until(user.get_username())
        if until is None and form.is_valid() and \
                security.verify_second_factor(request, user, form.cleaned_data["code"]):
            return redirect(_next(request))
        until = until or security.locked_until(user.get_username())
        if until is not None:
            audit.record(user, None, None, "auth.otp", user, outcome="denied", reason="locked",
                         username=user.username)
            message = security.lock_message(until)
            logout(request)
            messages.error(request, message)
            return redirect(security.login_url())
        if form.is_valid():
            form.add_error("code", _("验证码不正确或已使用过。"))
        return self.render_to_response(self.get_context_data(form=form))


def _password_form(user, data=None) -> PasswordChangeForm:
    form = PasswordChangeForm(user, data)
    for name, label in (("old_password", _("当前密码")), ("new_password1", _("新密码")),
                        ("new_password2", _("确认新密码"))):
        form.fields[name].label = label
    return form


class PasswordChangeView(AdminPage):
    """修改密码: one's own password, under the password policy (length, classes, history)."""

    template_name = "accounts/security/password_change.html"
    page_title = gettext_lazy("修改密码")
    header_icon = "key"

    def get_context_data(self, form=None, **kwargs):
        user = self.request.user
        return {**super().get_context_data(**kwargs),
                "form": form or _password_form(user),
                "expired": security.password_expired(user),
                "max_age": getattr(settings, "JIYUE_PASSWORD_MAX_AGE_DAYS", 90),
                "next": _next(self.request)}

    def post(self, request, *args, **kwargs):
        form = _password_form(request.user, request.POST)
        if form.is_valid():
            user = form.save()  # audited by User.save (user.password_change)
            update_session_auth_hash(request, user)
            messages.success(request, _("密码已修改。"))
            return redirect(_next(request))
        audit.record(request.user, None, None, "user.password_change", request.user,
                     outcome="failure", username=request.user.username,
                     reason="; ".join(e for errs in form.errors.values() for e in errs)[:500])
        return self.render_to_response(self.get_context_data(form=form))


class AccountSecurityView(AdminPage):
    """账号安全 (安全管理员): locked accounts and their unlocking; who must use a second
    factor and whether they have one; resetting a lost device; the password policy in force."""

    template_name = "accounts/security/overview.html"
    page_title = gettext_lazy("账号安全")
    header_icon = "lock"

    def dispatch(self, request, *args, **kwargs):
        if not policy.can_manage_security(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        staff = User.objects.filter(kind=User.KIND_STAFF,
                                    pk__in=RoleGrant.objects.values("user_id")).order_by("username")
        q = self.request.GET.get("q", "").strip()
        if q:
            staff = staff.filter(username__icontains=q) | staff.filter(real_name__icontains=q)
        page = paginate(self.request, staff, 50)
        enrolled = set(TOTPDevice.objects.filter(confirmed=True, user__in=list(page["page"]))
                       .values_list("user_id", flat=True))
        rows = [{"user": u, "required": security.second_factor_required(u),
                 "enrolled": u.pk in enrolled,
                 "demo_exempt": u.is_demo and security.demo_platform(),
                 "expired": security.password_expired(u)} for u in page["page"]]
        return {**super().get_context_data(**kwargs), **page, "rows": rows, "q": q,
                "locked": security.locked_accounts(),
                "policy_rows": security.policy_summary()}

    def post(self, request, *args, **kwargs):
        actor = request.user
        if request.POST.get("unlock"):
            username = request.POST["unlock"][:150]
            security.unlock(actor, username)
            messages.success(request, _("已解除账号 %(username)s 的锁定。") % {"username": username})
        elif request.POST.get("reset_device"):
            from django_otp.plugins.otp_totp.models import TOTPDevice

            user = get_object_or_404(User, pk=request.POST["reset_device"])
            n, _detail = TOTPDevice.objects.filter(user=user).delete()
            audit.record(actor, None, None, "auth.otp_reset", user, username=user.username,
                         devices=n)
            messages.success(request, _("已重置 %(username)s 的动态验证码；其下次登录时重新设置。")
                             % {"username": user.username})
        return redirect("jiyue_account_security")
