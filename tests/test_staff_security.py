"""Staff security (issue 4, STANDARDS.md Security): password policy, lockout, idle timeout,
TOTP second factor, demo accounts and superusers."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory
from django.utils import timezone

from jiyue.accounts import security
from jiyue.accounts.models import PasswordHistory, User
from jiyue.audit.models import AuditEntry

PASSWORD = "Passw0rd!x"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()  # rate-limit windows live in the cache
    yield
    cache.clear()


def login_request(addr="10.0.0.1"):
    request = RequestFactory().post("/account/login/", REMOTE_ADDR=addr)
    request.session = SessionStore()
    request.user = AnonymousUser()
    return request


def entries(action, outcome=None, **detail):
    qs = AuditEntry.objects.filter(action=action)
    if outcome:
        qs = qs.filter(outcome=outcome)
    return [e for e in qs.order_by("id") if all(e.detail.get(k) == v for k, v in detail.items())]


def totp_code(device, offset=0):
    from django_otp.oath import TOTP

    t = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    t.time = time.time() + offset
    return f"{t.token():0{device.digits}d}"


def citizen(username="c_zhang", email="zhang@example.cn", mobile="13800138000"):
    return User.objects.create_user(username=username, password=PASSWORD, email=email,
                                    mobile=mobile, kind=User.KIND_CITIZEN)


# --- password policy ---------------------------------------------------------------------

def test_password_policy_length_classes_and_history(province):
    from django.contrib.auth.password_validation import validate_password

    user = province.users["czt_editor"]
    with pytest.raises(ValidationError, match="8"):
        validate_password("Ab1!", user)
    with pytest.raises(ValidationError, match="至少 3 类"):
        validate_password("abcdefgh12", user)
    with pytest.raises(ValidationError, match="最近 5 次"):
        validate_password(PASSWORD, user)  # the current password
    passwords = [f"Neu{i}!pass-word" for i in range(1, 6)]
    for pw in passwords:
        validate_password(pw, user)
        user.set_password(pw)
        user.save()
    assert PasswordHistory.objects.filter(user=user).count() == 5  # only the last five kept
    for pw in passwords:
        with pytest.raises(ValidationError, match="最近 5 次"):
            validate_password(pw, user)
    validate_password(PASSWORD, user)  # six changes ago: allowed again
    entries_ = entries("user.password_change", "success", username="czt_editor")
    assert len(entries_) == 5


def test_staff_change_their_own_password_under_the_policy(client, province):
    user = province.users["czt_editor"]
    client.force_login(user)
    url = "/admin/security/password/"
    assert "修改密码" in client.get(url).content.decode()
    r = client.post(url, {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"})
    assert r.status_code == 200 and "密码" in r.content.decode()
    r = client.post(url, {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD})
    assert "不能使用最近 5 次用过的密码" in r.content.decode()
    assert entries("user.password_change", "failure")
    before = User.objects.get(pk=user.pk).password_changed_at
    r = client.post(url, {"old_password": PASSWORD, "new_password1": "Xin-Mima2026",
                          "new_password2": "Xin-Mima2026"})
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Xin-Mima2026") and user.password_changed_at > before
    assert client.get("/admin/").status_code == 200  # still logged in after the change
    [entry] = entries("user.password_change", "success", username="czt_editor")
    assert entry.actor_id == user.pk and entry.detail["by_self"] is True


def test_wagtail_account_page_applies_the_history_rule(client, province):
    user = province.users["czt_publisher"]
    client.force_login(user)
    r = client.post("/admin/account/", {"password-old_password": PASSWORD,
                                        "password-new_password1": PASSWORD,
                                        "password-new_password2": PASSWORD,
                                        "name_email-first_name": "", "name_email-last_name": "",
                                        "name_email-email": "",
                                        "locale-preferred_language": "zh-hans",
                                        "locale-current_time_zone": "Asia/Shanghai"})
    assert "不能使用最近 5 次用过的密码" in r.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_an_expired_password_must_be_changed_before_anything_else(client, province):
    user = province.users["czt_editor"]
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    client.force_login(user)
    r = client.get("/admin/pages/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/security/password/")
    page = client.get(r["Location"]).content.decode()
    assert "已超过 90 天未修改" in page
    r = client.post("/admin/security/password/?next=/admin/pages/",
                    {"old_password": PASSWORD, "new_password1": "Xin-Mima2026",
                     "new_password2": "Xin-Mima2026", "next": "/admin/pages/"})
    assert r.status_code == 302 and r["Location"] == "/admin/pages/"
    assert client.get("/admin/").status_code == 200


def test_citizens_passwords_do_not_expire(db):
    c = citizen()
    User.objects.filter(pk=c.pk).update(password_changed_at=timezone.now() - timedelta(days=400))
    c.refresh_from_db()
    assert not security.password_expired(c)


# --- login checks and lockout ------------------------------------------------------------

def test_five_failures_lock_the_account_not_the_address(province):
    for i in range(4):
        user, error = security.authenticate_user(login_request(f"10.0.0.{i + 1}"), "czt_editor", "wrong")
        assert user is None and error == "账号或密码错误。"
    _, error = security.authenticate_user(login_request("10.0.0.5"), "czt_editor", "wrong")
    assert "已被锁定" in error  # the fifth failure locks
    user, error = security.authenticate_user(login_request("10.9.9.9"), "czt_editor", PASSWORD)
    assert user is None
    assert "已被锁定" in error and "安全管理员" in error and "自动解锁" in error
    # the same address logs another account in: a shared NAT does not lock everyone out
    user, error = security.authenticate_user(login_request("10.0.0.1"), "jyt_editor", PASSWORD)
    assert user == province.users["jyt_editor"] and error is None
    assert len(entries("auth.login", "failure", username="czt_editor")) == 5
    [denied] = entries("auth.login", "denied", reason="locked")
    assert denied.detail["username"] == "czt_editor"
    assert [r["username"] for r in security.locked_accounts()] == ["czt_editor"]


def test_the_lock_ends_after_the_lockout_period(province):
    from axes.models import AccessAttempt

    for _ in range(5):
        security.authenticate_user(login_request(), "czt_editor", "wrong")
    assert security.locked_until("czt_editor") is not None
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=31))
    assert security.locked_until("czt_editor") is None
    user, error = security.authenticate_user(login_request(), "czt_editor", PASSWORD)
    assert user is not None and error is None


def test_username_email_and_mobile_share_one_failure_counter(db):
    c = citizen()
    for ident in ["c_zhang", "zhang@example.cn", "138 0013 8000", "+86 13800138000"]:
        user, error = security.authenticate_user(login_request(), ident, "wrong")
        assert user is None and error == "账号或密码错误。"
    _, error = security.authenticate_user(login_request(), "ZHANG@example.cn", "wrong")
    assert "已被锁定" in error
    user, error = security.authenticate_user(login_request(), "13800138000", PASSWORD)
    assert user is None and "已被锁定" in error
    assert security.locked_until(c.username) is not None


def test_each_identifier_logs_the_account_in(db):
    c = citizen()
    for ident in ["c_zhang", "Zhang@Example.cn", "13800138000", "+86 138-0013-8000"]:
        user, error = security.authenticate_user(login_request(), ident, PASSWORD)
        assert user == c and error is None, ident


def test_unknown_accounts_get_the_same_message(db):
    citizen()
    _, unknown = security.authenticate_user(login_request(), "nobody", "whatever")
    _, wrong = security.authenticate_user(login_request(), "c_zhang", "whatever")
    assert unknown == wrong == "账号或密码错误。"
    assert entries("auth.login", "failure", username="nobody")


def test_disabled_account_is_told_only_with_the_right_password(province):
    user = province.users["czt_editor"]
    User.objects.filter(pk=user.pk).update(is_active=False)
    _, error = security.authenticate_user(login_request(), "czt_editor", "wrong")
    assert error == "账号或密码错误。"
    _, error = security.authenticate_user(login_request(), "czt_editor", PASSWORD)
    assert "已停用" in error
    assert entries("auth.login", "denied", reason="disabled", username="czt_editor")


def test_rate_limit_per_address(settings, province):
    settings.JIYUE_RATE_LIMITS = "login=3/m"
    for _ in range(3):
        security.authenticate_user(login_request("10.1.1.1"), "nobody", "x")
    user, error = security.authenticate_user(login_request("10.1.1.1"), "czt_editor", PASSWORD)
    assert user is None and "过于频繁" in error
    assert entries("auth.login", "denied", reason="rate_limited")
    user, error = security.authenticate_user(login_request("10.1.1.2"), "czt_editor", PASSWORD)
    assert user is not None


def test_security_admin_sees_and_lifts_a_lock(client, province):
    for _ in range(5):
        security.authenticate_user(login_request(), "czt_editor", "wrong")
    client.force_login(province.users["security_admin"])
    page = client.get("/admin/security/").content.decode()
    assert "czt_editor" in page and "解除锁定" in page
    r = client.post("/admin/security/", {"unlock": "czt_editor"})
    assert r.status_code == 302
    assert security.locked_until("czt_editor") is None
    assert "当前没有被锁定的账号" in client.get("/admin/security/").content.decode()
    [entry] = entries("auth.unlock", "success", username="czt_editor")
    assert entry.actor_id == province.users["security_admin"].pk
    user, _ = security.authenticate_user(login_request(), "czt_editor", PASSWORD)
    assert user is not None


def test_wagtail_login_form_counts_failures_and_shows_the_lock_in_chinese(client, province):
    if client.get("/admin/login/").status_code != 200:
        pytest.skip("the admin login page hands over to the central login page")
    for _ in range(5):
        client.post("/admin/login/", {"username": "czt_editor", "password": "wrong"})
    assert security.locked_until("czt_editor") is not None
    r = client.post("/admin/login/", {"username": "czt_editor", "password": PASSWORD})
    assert r.status_code == 429 and "已被锁定" in r.content.decode()
    assert not client.session.get("_auth_user_id")


# --- demo accounts and superusers --------------------------------------------------------

def test_demo_accounts_log_in_only_on_a_demo_platform(settings, client, province):
    demo = User.objects.create_user(username="demo_pub", password=PASSWORD, is_demo=True,
                                    organisation=province.orgs["czt"])
    from jiyue.accounts.services import grant

    grant(None, demo, "publisher", site=province.sites["czt"])
    settings.JIYUE_DEMO = False
    user, error = security.authenticate_user(login_request(), "demo_pub", PASSWORD)
    assert user is None and "演示平台" in error
    client.force_login(demo)
    assert client.get("/admin/").status_code == 302  # an old session ends too
    settings.JIYUE_DEMO = True
    user, error = security.authenticate_user(login_request(), "demo_pub", PASSWORD)
    assert user == demo and not security.second_factor_required(demo)
    assert security.second_factor_required(province.users["czt_publisher"])


def test_createsuperuser_only_on_demo_or_debug_platforms(settings, db):
    settings.JIYUE_DEMO = False
    settings.DEBUG = False
    with pytest.raises(CommandError, match="jiyue setup"):
        call_command("createsuperuser", "--noinput", username="root", email="r@example.cn")
    assert not User.objects.filter(is_superuser=True).exists()
    settings.JIYUE_DEMO = True
    call_command("createsuperuser", "--noinput", username="root", email="r@example.cn", verbosity=0)
    assert User.objects.filter(username="root", is_superuser=True).exists()


def test_deploy_check_warns_about_superusers_and_demo_accounts(settings, db):
    from django.core.checks import run_checks

    settings.JIYUE_DEMO = False
    ids = {m.id for m in run_checks(include_deployment_checks=True)}
    assert "jiyue.W101" not in ids and "jiyue.W102" not in ids
    User.objects.create_superuser(username="root", password=PASSWORD)
    User.objects.create_user(username="demo1", password=PASSWORD, is_demo=True)
    ids = {m.id for m in run_checks(include_deployment_checks=True)}
    assert {"jiyue.W101", "jiyue.W102"} <= ids
    settings.JIYUE_DEMO = True
    assert "jiyue.W101" not in {m.id for m in run_checks(include_deployment_checks=True)}


# --- sessions ------------------------------------------------------------------------------

def test_an_idle_session_is_logged_out_an_active_one_is_not(client, province):
    from django.contrib.sessions.models import Session

    client.force_login(province.users["czt_editor"])
    assert client.get("/admin/").status_code == 200
    key = client.session.session_key
    # 29 minutes idle: one request, and the session runs for another 30 minutes
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + timedelta(minutes=1))
    assert client.get("/admin/").status_code == 200
    assert Session.objects.get(pk=key).expire_date > timezone.now() + timedelta(minutes=29)
    # 30 minutes idle: the session is gone
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    r = client.get("/admin/")
    assert r.status_code == 302 and "next=" in r["Location"] and "/admin/" not in r["Location"].split("?")[0]


def test_staff_sessions_end_after_the_absolute_limit(client, province):
    client.force_login(province.users["czt_editor"])
    assert client.get("/admin/").status_code == 200
    session = client.session
    session["_jiyue_login_at"] = int(time.time()) - 13 * 3600
    session.save()
    r = client.get("/admin/pages/")
    assert r.status_code == 302 and "next=" in r["Location"]
    assert "_auth_user_id" not in client.session


# --- second factor -------------------------------------------------------------------------

def test_who_must_use_a_second_factor(province):
    u = province.users
    must = {name for name in u if security.second_factor_required(u[name])}
    expected = {"security_admin", "system_admin", "audit_admin", "platform_operator"}
    for site in ("portal", "czt", "jyt"):
        # the last review level (policy levels=2) publishes; editors and first-level reviewers do not
        expected |= {f"{site}_publisher", f"{site}_site_admin", f"{site}_reviewer2"}
    assert must == expected
    assert not security.second_factor_required(citizen())


@pytest.mark.second_factor
def test_publisher_enrols_totp_then_verifies_on_the_next_login(client, province):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = province.users["czt_publisher"]
    client.force_login(user)
    r = client.get("/admin/tokens/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/security/otp/?next=")
    page = client.get(r["Location"]).content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    import base64

    assert "<svg" in page and base64.b32encode(device.bin_key).decode() in page
    r = client.post("/admin/security/otp/", {"code": "000000" if totp_code(device) != "000000" else "111111"})
    assert "验证码不正确" in r.content.decode()
    assert not security.has_second_factor(user)
    r = client.post("/admin/security/otp/", {"code": totp_code(device), "next": "/admin/tokens/"})
    assert r.status_code == 302 and r["Location"] == "/admin/tokens/"
    assert security.has_second_factor(user)
    assert client.get("/admin/tokens/").status_code == 200
    assert entries("auth.otp_enrol", "success", username="czt_publisher")

    other = client.__class__()
    other.force_login(user)
    r = other.get("/admin/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/security/otp/verify/")
    # the enrolment page does not let an unverified session replace the device
    assert other.get("/admin/security/otp/").status_code == 302
    device.refresh_from_db()
    r = other.post("/admin/security/otp/verify/", {"code": totp_code(device), "next": "/admin/"})
    assert "验证码不正确或已使用过" in r.content.decode()  # the enrolment code, used once only
    r = other.post("/admin/security/otp/verify/", {"code": totp_code(device, 30), "next": "/admin/"})
    assert r.status_code == 302 and r["Location"] == "/admin/"
    assert other.get("/admin/").status_code == 200
    assert entries("auth.otp", "failure", username="czt_publisher")
    assert entries("auth.otp", "success", username="czt_publisher")


@pytest.mark.second_factor
def test_editors_are_not_asked_for_a_second_factor(client, province):
    client.force_login(province.users["czt_editor"])
    assert client.get("/admin/").status_code == 200


@pytest.mark.second_factor
def test_wrong_codes_count_towards_the_lockout(client, province):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = province.users["czt_site_admin"]
    device = TOTPDevice.objects.create(user=user, name="手机", confirmed=True)
    client.force_login(user)
    good = totp_code(device)
    wrong = next(c for c in ("123456", "654321", "111111") if c not in
                 {totp_code(device, s) for s in (-30, 0, 30)})
    for _ in range(4):
        r = client.post("/admin/security/otp/verify/", {"code": wrong})
        assert "验证码不正确" in r.content.decode()
    r = client.post("/admin/security/otp/verify/", {"code": wrong})
    assert r.status_code == 302  # the fifth wrong code locks the account and logs out
    assert "_auth_user_id" not in client.session
    _, error = security.authenticate_user(login_request(), "czt_site_admin", PASSWORD)
    assert "已被锁定" in error
    assert not security.verify_second_factor(login_request(), user, good) or \
        security.locked_until("czt_site_admin") is not None


def test_verify_second_factor_before_login_marks_the_session(province):
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = province.users["czt_publisher"]
    device = TOTPDevice.objects.create(user=user, name="手机", confirmed=True)
    request = login_request()
    assert not security.verify_second_factor(request, user, "12ab")
    code = totp_code(device)
    assert security.verify_second_factor(request, user, code)
    assert request.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert not security.verify_second_factor(login_request(), user, code)  # once only


@pytest.mark.second_factor
def test_security_admin_resets_a_lost_device(client, province):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = province.users["czt_publisher"]
    TOTPDevice.objects.create(user=user, name="手机", confirmed=True)
    sec = province.users["security_admin"]
    device = TOTPDevice.objects.create(user=sec, name="手机", confirmed=True)
    client.force_login(sec)
    r = client.post("/admin/security/otp/verify/", {"code": totp_code(device)})
    assert r.status_code == 302
    page = client.get("/admin/security/").content.decode()
    assert "czt_publisher" in page and "重置动态验证码" in page
    client.post("/admin/security/", {"reset_device": user.pk})
    assert not security.has_second_factor(user)
    assert entries("auth.otp_reset", "success", username="czt_publisher")


@pytest.mark.second_factor
def test_setup_administrators_enrol_totp_at_first_login(client, db):
    call_command("setup", code="ah", name="安徽省政府网站集约化平台", level="province",
                 region_code="340000", system_admin="sys1", system_admin_password="Aa1!aaaaXX",
                 security_admin="sec1", security_admin_password="Bb2@bbbbYY",
                 audit_admin="aud1", audit_admin_password="Cc3#ccccZZ", no_input=True)
    for name in ("sys1", "sec1", "aud1"):
        user = User.objects.get(username=name)
        assert security.second_factor_required(user) and not user.is_superuser
        client.force_login(user)
        r = client.get("/admin/")
        assert r.status_code == 302 and r["Location"].startswith("/admin/security/otp/")
