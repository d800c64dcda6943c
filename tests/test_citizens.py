"""Citizens (公众用户): registration by e-mail or mobile number with one-time codes, wrong /
expired / reused codes, password reset, the profile with encrypted personal data, the export of
a person's own data and account deletion, the real-name level set by the 系统管理员."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from jiyue.accounts.models import User
from jiyue.audit.models import AuditEntry
from jiyue.identity.models import VerificationCode

PASSWORD = "Citizen@2026x"
CODE_RE = re.compile(r"\b(\d{6})\b")


@pytest.fixture(autouse=True)
def _fresh(settings):
    from django.core.cache import cache

    cache.clear()  # rate-limit counters
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.JIYUE_CODE_SENDERS = {"email": "jiyue.identity.senders.EmailSender",
                                   "sms": "jiyue.identity.senders.LogSmsSender"}
    yield
    cache.clear()


def last_mail_code(to: str) -> str:
    msg = [m for m in mail.outbox if to in m.to][-1]
    return CODE_RE.search(msg.body).group(1)


class SmsCapture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def code_for(self, mobile: str) -> str:
        line = [m for m in self.messages if mobile in m][-1]
        return CODE_RE.search(line.split(":", 1)[1]).group(1)


@pytest.fixture
def sms():
    handler = SmsCapture()
    logger = logging.getLogger("jiyue.identity.sms")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def raw_column(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cur.fetchone()[0]


def make_citizen(email="li.ming@example.cn", mobile="", password=PASSWORD, **extra) -> User:
    from jiyue.identity.services import create_citizen

    user = create_citizen(email=email, mobile=mobile, password=password)
    for k, v in extra.items():
        setattr(user, k, v)
    if extra:
        user.save()
    return user


def register(client, recipient, code_for, password=PASSWORD, next_url=""):
    r = client.post("/account/register/", {"step": "send", "recipient": recipient, "next": next_url})
    assert r.status_code == 200
    assert "验证码已发送至" in r.content.decode()
    return client.post("/account/register/", {"step": "verify", "code": code_for(),
                                              "password1": password, "password2": password,
                                              "next": next_url})


# --- registration ------------------------------------------------------------------------

def test_register_by_email_sends_a_code_and_logs_the_citizen_in(client, db):
    page = client.get("/account/register/")
    assert page.status_code == 200 and "使用电子邮箱或手机号码注册" in page.content.decode()

    r = register(client, "Li.Ming@Example.CN", lambda: last_mail_code("li.ming@example.cn"))
    assert r.status_code == 302 and r["Location"] == "/account/profile/"
    user = User.objects.get(email="li.ming@example.cn")
    assert user.kind == User.KIND_CITIZEN and user.email_verified and not user.is_staff
    assert user.check_password(PASSWORD)
    assert len(mail.outbox) == 1 and "注册验证码" in mail.outbox[0].subject
    # the code is stored only as a keyed digest
    row = VerificationCode.objects.get()
    assert row.used_at is not None and CODE_RE.search(mail.outbox[0].body).group(1) not in row.code_hash
    profile = client.get("/account/profile/").content.decode()
    assert "li.ming@example.cn" in profile and "未实名" in profile and "已验证" in profile
    assert AuditEntry.objects.filter(action="identity.register", outcome="success").exists()


def test_register_by_mobile_through_the_development_sms_log(client, db, sms):
    r = register(client, "+86 139 0000 1234", lambda: sms.code_for("13900001234"))
    assert r.status_code == 302
    user = User.objects.get(kind=User.KIND_CITIZEN)
    assert user.mobile == "13900001234" and user.mobile_verified and not user.email
    assert "13900001234" not in raw_column("accounts_user", "mobile", user.pk)
    assert mail.outbox == []
    # the citizen logs in with the mobile number
    client.logout()
    r = client.post("/account/login/", {"identifier": "13900001234", "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/account/profile/"


def test_registration_refuses_a_taken_address_a_weak_password_and_bad_input(client, db):
    make_citizen(email="taken@example.cn")
    r = client.post("/account/register/", {"step": "send", "recipient": "taken@example.cn"})
    assert "该电子邮箱已注册" in r.content.decode() and mail.outbox == []
    r = client.post("/account/register/", {"step": "send", "recipient": "12345"})
    assert "请输入有效的 11 位手机号码" in r.content.decode()
    r = client.post("/account/register/", {"step": "send", "recipient": "not@an@address"})
    assert "请输入有效的电子邮箱地址" in r.content.decode()

    client.post("/account/register/", {"step": "send", "recipient": "new@example.cn"})
    code = last_mail_code("new@example.cn")
    r = client.post("/account/register/", {"step": "verify", "code": code,
                                           "password1": "password", "password2": "password"})
    body = r.content.decode()
    assert r.status_code == 200 and "密码须包含" in body
    assert not User.objects.filter(email="new@example.cn").exists()
    r = client.post("/account/register/", {"step": "verify", "code": code,
                                           "password1": PASSWORD, "password2": PASSWORD + "y"})
    assert "两次输入的密码不一致" in r.content.decode()
    # the code was not spent by the refused attempts
    r = client.post("/account/register/", {"step": "verify", "code": code,
                                           "password1": PASSWORD, "password2": PASSWORD})
    assert r.status_code == 302 and User.objects.filter(email="new@example.cn").exists()


# --- wrong, expired, reused codes --------------------------------------------------------

def test_wrong_codes_are_counted_and_refused_after_five_attempts(client, db):
    client.post("/account/register/", {"step": "send", "recipient": "w@example.cn"})
    good = last_mail_code("w@example.cn")
    bad = "000000" if good != "000000" else "111111"
    form = {"step": "verify", "password1": PASSWORD, "password2": PASSWORD}
    r = client.post("/account/register/", {**form, "code": bad})
    assert "验证码错误，还可尝试 4 次" in r.content.decode()
    for _ in range(4):
        r = client.post("/account/register/", {**form, "code": bad})
    assert "验证码错误次数过多，请重新获取" in r.content.decode()
    # even the right code is refused now: a new one must be requested
    r = client.post("/account/register/", {**form, "code": good})
    assert "验证码错误次数过多" in r.content.decode()
    assert not User.objects.filter(email="w@example.cn").exists()
    failures = AuditEntry.objects.filter(action="identity.code.verify", outcome="failure")
    assert failures.count() == 6
    assert {e.detail["reason"] for e in failures} == {"wrong", "too_many_attempts"}
    assert "w@example.cn" not in "".join(e.object_repr for e in failures)  # masked


def test_an_expired_code_is_refused(client, db):
    client.post("/account/register/", {"step": "send", "recipient": "e@example.cn"})
    code = last_mail_code("e@example.cn")
    VerificationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    r = client.post("/account/register/", {"step": "verify", "code": code,
                                           "password1": PASSWORD, "password2": PASSWORD})
    assert "验证码已过期，请重新获取" in r.content.decode()
    assert not User.objects.filter(email="e@example.cn").exists()
    assert AuditEntry.objects.filter(action="identity.code.verify", outcome="failure",
                                     detail__reason="expired").exists()


def test_a_used_code_cannot_be_used_again(client, db):
    user = make_citizen(email="r@example.cn")
    client.post("/account/password/reset/", {"step": "send", "recipient": "r@example.cn"})
    code = last_mail_code("r@example.cn")
    form = {"step": "verify", "code": code, "password1": "Second@2026x", "password2": "Second@2026x"}
    r = client.post("/account/password/reset/", form)
    assert r.status_code == 302
    # replaying the same step (the session still knows the address) with the spent code
    client.post("/account/password/reset/", {"step": "send", "recipient": "r@example.cn"})
    VerificationCode.objects.filter(used_at__isnull=True).delete()  # only the spent code remains
    r = client.post("/account/password/reset/", {**form, "password1": "Third@2026xx",
                                                 "password2": "Third@2026xx"})
    assert "该验证码已使用，请重新获取" in r.content.decode()
    user.refresh_from_db()
    assert user.check_password("Second@2026x")
    assert AuditEntry.objects.filter(action="identity.code.verify", detail__reason="reused").exists()


def test_codes_are_rate_limited_per_recipient(client, db, settings):
    settings.JIYUE_RATE_LIMITS = "send_code=100/m,send_code_to=3/h"
    for _ in range(3):
        r = client.post("/account/register/", {"step": "send", "recipient": "rl@example.cn"})
        assert "验证码已发送至" in r.content.decode()
    r = client.post("/account/register/", {"step": "send", "recipient": "RL@example.cn"})
    assert "获取验证码过于频繁，请稍后再试" in r.content.decode()
    assert len(mail.outbox) == 3
    # another address from the same client is still served
    r = client.post("/account/register/", {"step": "send", "recipient": "other@example.cn"})
    assert "验证码已发送至" in r.content.decode()
    assert AuditEntry.objects.filter(action="identity.code.send", outcome="denied").count() == 1


def test_a_failing_mail_server_gives_a_clear_message_and_leaves_no_code(client, db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    r = client.post("/account/register/", {"step": "send", "recipient": "down@example.cn"})
    assert r.status_code == 200 and "验证码发送失败，请稍后重试" in r.content.decode()
    assert not VerificationCode.objects.exists()


# --- login, password reset ------------------------------------------------------------------

def test_citizen_logs_in_by_email_and_never_enters_the_admin(client, db):
    make_citizen(email="a@example.cn")
    r = client.post("/account/login/", {"identifier": "A@example.cn", "password": "wrong-password"})
    assert r.status_code == 200 and "账号或密码错误" in r.content.decode()
    r = client.post("/account/login/", {"identifier": "a@example.cn", "password": PASSWORD,
                                        "next": "/admin/"})
    assert r.status_code == 302 and r["Location"] == "/account/profile/"
    r = client.get("/admin/", follow=True)
    assert r.redirect_chain and r.request["PATH_INFO"] == "/account/profile/"
    assert "个人中心" in r.content.decode()


def test_login_redirects_only_to_this_platform(client, db, province):
    make_citizen(email="n@example.cn")
    cases = {"https://evil.example.com/x": "/account/profile/",
             "//evil.example.com/x": "/account/profile/",
             "javascript:alert(1)": "/account/profile/",
             "profile": "/account/profile/",
             "http://evil.example.com\\@czt.ah.gov.cn/": "/account/profile/",
             "http://czt.ah.gov.cn/zwgk/": "http://czt.ah.gov.cn/zwgk/",
             "http://3400000003.localhost:8000/": "http://3400000003.localhost:8000/",
             "/account/profile/password/": "/account/profile/password/"}
    for next_url, expected in cases.items():
        client.logout()
        r = client.post("/account/login/", {"identifier": "n@example.cn", "password": PASSWORD,
                                            "next": next_url})
        assert r["Location"] == expected, next_url


def test_password_reset_by_code(client, db, sms):
    user = make_citizen(email="", mobile="13800138000")
    r = client.post("/account/password/reset/", {"step": "send", "recipient": "138 0013 8000"})
    assert "验证码已发送" in r.content.decode()
    r = client.post("/account/password/reset/", {"step": "verify", "code": sms.code_for("13800138000"),
                                                 "password1": "NewPass@2026", "password2": "NewPass@2026"})
    assert r.status_code == 302 and r["Location"].startswith("/account/login/")
    user.refresh_from_db()
    assert user.check_password("NewPass@2026") and not user.check_password(PASSWORD)
    assert AuditEntry.objects.filter(action="identity.password_reset", outcome="success").exists()
    r = client.post("/account/login/", {"identifier": "13800138000", "password": "NewPass@2026"})
    assert r.status_code == 302


def test_password_reset_tells_nothing_about_unknown_addresses(client, db):
    r = client.post("/account/password/reset/", {"step": "send", "recipient": "nobody@example.cn"})
    assert "如果 n***@example.cn 是已注册的账号，验证码已发送" in r.content.decode()
    assert mail.outbox == []
    r = client.post("/account/password/reset/", {"step": "verify", "code": "123456",
                                                 "password1": "NewPass@2026", "password2": "NewPass@2026"})
    assert "验证码错误" in r.content.decode()


# --- profile ---------------------------------------------------------------------------------

def test_profile_edit_stores_personal_data_encrypted(client, db):
    user = make_citizen(email="p@example.cn")
    client.force_login(user)
    r = client.post("/account/profile/", {"real_name": "李明", "id_number": "11010519491231002x",
                                          "address": "合肥市蜀山区长江西路100号"})
    assert r.status_code == 302
    user.refresh_from_db()
    assert (user.real_name, user.id_number, user.address) == ("李明", "11010519491231002X",
                                                             "合肥市蜀山区长江西路100号")
    for column, plain in (("id_number", "11010519491231002X"), ("address", "长江西路")):
        raw = raw_column("accounts_user", column, user.pk)
        assert raw and plain not in raw and raw.startswith("sm4:")
    page = client.get("/account/profile/").content.decode()
    assert "11010519491231002X" in page and "长江西路" in page
    entry = AuditEntry.objects.filter(action="identity.profile.update").latest("id")
    assert set(entry.detail["fields"]) == {"real_name", "id_number", "address"}
    assert "李明" not in json.dumps(entry.detail, ensure_ascii=False)

    r = client.post("/account/profile/", {"real_name": "李明", "id_number": "110105194912310021",
                                          "address": ""})
    assert r.status_code == 200 and "请输入有效的 18 位居民身份证号码" in r.content.decode()


def test_changing_the_mobile_number_needs_a_code_sent_to_the_new_number(client, db, sms):
    user = make_citizen(email="m@example.cn")
    make_citizen(email="other@example.cn", mobile="13700000000")
    client.force_login(user)
    r = client.post("/account/profile/mobile/", {"step": "send", "recipient": "13700000000"})
    assert "该手机号码已被其他账号使用" in r.content.decode()
    r = client.post("/account/profile/mobile/", {"step": "send", "recipient": "13600000000"})
    assert "验证码已发送至 136****0000" in r.content.decode()
    r = client.post("/account/profile/mobile/", {"step": "verify", "code": "999999"
                                                 if sms.code_for("13600000000") != "999999" else "888888"})
    assert "验证码错误" in r.content.decode()
    r = client.post("/account/profile/mobile/", {"step": "verify", "code": sms.code_for("13600000000")})
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.mobile == "13600000000" and user.mobile_verified
    assert "13600000000" not in raw_column("accounts_user", "mobile", user.pk)


def test_changing_the_email_address(client, db):
    user = make_citizen(email="old@example.cn")
    client.force_login(user)
    client.post("/account/profile/email/", {"step": "send", "recipient": "new@example.cn"})
    r = client.post("/account/profile/email/", {"step": "verify", "code": last_mail_code("new@example.cn")})
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.email == "new@example.cn" and user.email_verified


def test_password_change_needs_the_current_password(client, db):
    user = make_citizen(email="pw@example.cn")
    client.force_login(user)
    r = client.post("/account/profile/password/", {"old_password": "nope", "password1": "Changed@2026",
                                                   "password2": "Changed@2026"})
    assert "当前密码不正确" in r.content.decode()
    r = client.post("/account/profile/password/", {"old_password": PASSWORD, "password1": "Changed@2026",
                                                   "password2": "Changed@2026"})
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Changed@2026")
    assert client.get("/account/profile/").status_code == 200  # still logged in


def test_profile_pages_need_a_logged_in_citizen(client, db, province):
    r = client.get("/account/profile/")
    assert r.status_code == 302 and r["Location"].startswith("/account/login/?next=")
    client.force_login(province.users["czt_editor"])
    assert client.get("/account/profile/")["Location"] == "/admin/"
    assert client.get("/account/profile/export/")["Location"] == "/admin/"


# --- export and deletion --------------------------------------------------------------------

def test_export_then_delete_the_account(client, db, monkeypatch):
    from jiyue.identity import services

    monkeypatch.setattr(services, "EXPORTERS", {})
    services.register_export("letters", lambda user: [{"title": f"来信 {user.username}"}])
    user = make_citizen(email="d@example.cn", real_name="王芳", address="芜湖市")
    pk, username = user.pk, user.username
    client.force_login(user)

    page = client.get("/account/profile/delete/").content.decode()
    assert "注销前请先下载您的个人数据" in page
    r = client.post("/account/profile/delete/", {"password": PASSWORD, "confirm": "on"})
    assert "注销前请先下载您的个人数据" in r.content.decode() and User.objects.filter(pk=pk).exists()

    r = client.get("/account/profile/export/")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/json")
    assert "attachment" in r["Content-Disposition"]
    data = json.loads(r.content)
    assert data["profile"]["email"] == "d@example.cn" and data["profile"]["address"] == "芜湖市"
    assert data["profile"]["real_name_level_display"] == "未实名"
    assert data["letters"] == [{"title": f"来信 {username}"}]
    assert AuditEntry.objects.filter(action="identity.export", actor_id=pk).exists()

    r = client.post("/account/profile/delete/", {"password": "wrong", "confirm": "on"})
    assert "密码不正确" in r.content.decode() and User.objects.filter(pk=pk).exists()
    r = client.post("/account/profile/delete/", {"password": PASSWORD, "confirm": "on"})
    assert r.status_code == 200 and "账号已注销" in r.content.decode()
    assert not User.objects.filter(pk=pk).exists()
    assert AuditEntry.objects.filter(action="identity.delete_account", outcome="success").exists()
    assert client.get("/account/profile/").status_code == 302  # logged out
    r = client.post("/account/login/", {"identifier": "d@example.cn", "password": PASSWORD})
    assert "账号或密码错误" in r.content.decode()


# --- real-name level (系统管理员) -----------------------------------------------------------

def test_system_admin_sets_the_real_name_level(client, db, province):
    citizen = make_citizen(email="rn@example.cn")
    client.force_login(province.users["czt_site_admin"])
    assert client.get("/admin/citizens/").status_code in (302, 403)
    r = client.post("/admin/citizens/", {"user": citizen.pk, "real_name_level": "verified", "is_active": "1"})
    assert r.status_code in (302, 403)
    citizen.refresh_from_db()
    assert citizen.real_name_level == User.REAL_NAME_NONE

    client.force_login(province.users["system_admin"])
    page = client.get("/admin/citizens/?q=rn@example.cn")
    assert page.status_code == 200 and citizen.username in page.content.decode()
    r = client.post("/admin/citizens/", {"user": citizen.pk, "real_name_level": "verified", "is_active": "1"})
    assert r.status_code == 302
    citizen.refresh_from_db()
    assert citizen.real_name_level == User.REAL_NAME_VERIFIED
    entry = AuditEntry.objects.filter(action="identity.citizen.update").latest("id")
    assert entry.actor_id == province.users["system_admin"].pk
    assert entry.detail["after"]["real_name_level"] == "verified"

    client.force_login(citizen)
    page = client.get("/account/profile/").content.decode()
    assert "实名" in page and "未实名" not in page
    # verified identity details are no longer the person's to change
    client.post("/account/profile/", {"real_name": "冒名", "id_number": "", "address": "x"})
    citizen.refresh_from_db()
    assert citizen.real_name != "冒名"
