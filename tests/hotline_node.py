"""The setup-and-inspect helper that tests/test_hotline_instances.py runs inside each jiyue
instance's environment (its own JIYUE_HOME and database), as `python -m tests.hotline_node`.

It reads one JSON request per line on stdin, `{"fn": name, "kwargs": {...}}`, calls the
function of that name below after `django.setup()`, and answers one JSON line:
`{"ok": true, "value": ...}` or `{"ok": false, "error": "<traceback>"}`. The test's staff work
on instance B and its look-ups on both go through the same public services the admin uses
(`jiyue.letters.services`, `jiyue.hotline.services`); the exchange between the instances is
their own HTTP path. No pytest here: the instances run without the test-only apps.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

PASSWORD = "Passw0rd!x"


def _credit_code(seed: int, region: str) -> str:
    from jiyue.platform.validators import credit_code_check_char, org_code_check_char

    body = f"{seed:08d}"[-8:]
    first17 = "11" + region + body + org_code_check_char(body)
    return first17 + credit_code_check_char(first17)


def _staff(username: str, role: str, organisation=None, site=None):
    from jiyue.accounts.models import User
    from jiyue.accounts.services import grant

    user = User.objects.create_user(username=username, password=PASSWORD, organisation=organisation,
                                    real_name=username)
    grant(None, user, role, site=site)
    return user


def setup(side: str, peer_url: str, key: str = "") -> dict:
    """One platform with its organisations, sites, staff (互动分办员, 互动办理员, 系统管理员) and
    its 12345对接配置 for the other instance, made by the system administrator through
    `hotline.services.create_peer` (A generates the shared key, B enters the same key).

    A: 安徽省 (platform "ah"), a 省长信箱 taking anonymous letters, pushing its letters to B
       as 对方办理. B: 合肥市 (platform "hf"), 市政府 and 市财政局, handling what A pushes."""
    from jiyue.core.models import Platform
    from jiyue.hotline import services as hotline
    from jiyue.letters.models import Mailbox
    from jiyue.platform.models import Organisation
    from jiyue.platform.services import create_site

    region = "340000" if side == "a" else "340100"
    if side == "a":
        Platform.objects.create(code="ah", name="安徽省政府网站集约化平台", level="province",
                                region_code=region)
        orgs = [("portal", "安徽省人民政府", "皖政", "government", "www.ah.gov.cn", "portal")]
    else:
        Platform.objects.create(code="hf", name="合肥市政府网站集约化平台", level="city",
                                region_code=region)
        orgs = [("portal", "合肥市人民政府", "合政", "government", "www.hefei.gov.cn", "portal"),
                ("czj", "合肥市财政局", "合财", "department", "czj.hefei.gov.cn", "department")]
    out: dict = {"orgs": {}, "sites": {}}
    root, portal_site = None, None
    level = "province" if side == "a" else "city"
    for i, (key_, name, short, kind, domain, site_kind) in enumerate(orgs, 1):
        fields = {"name": name, "short_name": short, "code": _credit_code(100 + i, region), "kind": kind,
                  "region_code": region, "key": key_}
        org = Organisation.add_root(**fields) if root is None else root.add_child(**fields)
        if root is None:
            root = org
        else:
            root.refresh_from_db()
        site = create_site(organisation=org, name=name, level=level, kind=site_kind, domain=domain,
                           code=f"{region}{i:04d}", sponsor=name, operator=name, state="running",
                           apply_template=False)
        portal_site = portal_site or site
        for role in ("dispatcher", "handler"):
            _staff(f"{side}_{key_}_{role}", role, org, site)
        out["orgs"][key_] = org.name
        out["sites"][key_] = site.code
    admin = _staff(f"{side}_system_admin", "system_admin")
    if side == "a":
        box = Mailbox.objects.create(organisation=root, site=portal_site, kind=Mailbox.LEADER,
                                     name="省长信箱", allow_anonymous=True)
        out["mailbox"] = box.pk
        peer, out["key"] = hotline.create_peer(
            admin, code="hf", name="合肥市政府网站集约化平台", organisation=root, url=peer_url,
            enabled=True, push_letters=True, push_mode="handle", push_types=[])
    else:
        peer, _key = hotline.create_peer(
            admin, code="ah", name="安徽省政府网站集约化平台", organisation=root, url=peer_url,
            enabled=True, push_letters=False, key=key)
    out["peer"] = peer.code
    from jiyue.security.fields import blind_index

    blind_index("phone", "13800138000")  # the key ring exists before the HTTP workers fork
    return out


def _letter(order_no: str):
    from jiyue.letters.models import Letter

    return (Letter.objects.filter(external_ref=order_no).first()
            or Letter.objects.filter(hotline_order__order_no=order_no).first())


def letter(order_no: str) -> dict | None:
    """The letter bound to a work order (by 工单编号), as staff see it."""
    from django.utils import timezone

    found = _letter(order_no)
    if found is None:
        return None
    return {"status": found.status, "channel": found.channel, "organisation": found.organisation.name,
            "external_ref": found.external_ref, "query_code": found.query_code, "reply": found.reply,
            "reply_unit": found.reply_unit, "rating": found.rating,
            "replied_at": timezone.localtime(found.replied_at).isoformat() if found.replied_at else None,
            "reopened_count": found.reopened_count, "handled_by": found.handled_by,
            "steps": [[s.action, s.note] for s in found.steps.order_by("at", "id")]}


def letters_count() -> dict:
    from django.db.models import Count

    from jiyue.letters.models import Letter

    return {row["channel"]: row["n"] for row in Letter.objects.values("channel").annotate(n=Count("id"))}


def act(order_no: str, action: str, user: str, to: str | None = None, note: str = "",
        reply: str | None = None) -> str:
    """A staff member's handling action on the letter of a work order (letters.services.act,
    with its permission checks, step, audit and outbox event)."""
    from jiyue.accounts.models import User
    from jiyue.letters import services
    from jiyue.platform.models import Organisation

    target = Organisation.objects.get(key=to) if to else None
    done = services.act(_letter(order_no), action, User.objects.get(username=user), note=note,
                        to_organisation=target, reply=reply)
    return done.status


def messages(order_no: str | None = None) -> list[dict]:
    """The exchange log (oldest first), without bodies."""
    from jiyue.hotline.models import Message

    qs = Message.objects.order_by("id")
    if order_no:
        qs = qs.filter(order_no=order_no)
    return [{"direction": m.direction, "kind": m.kind, "message_id": m.message_id, "state": m.state,
             "attempts": m.attempts, "result": m.result, "last_error": m.last_error,
             "response_status": m.response_status} for m in qs]


def body(message_id: str, direction: str) -> str:
    """A stored message's body (decrypted), to replay it."""
    from jiyue.hotline.models import Message

    return Message.objects.get(message_id=message_id, direction=direction).body


def resend(message_id: str) -> dict:
    """Put a delivered outbound message back in the queue and run the sender (as the operator's
    重发 does for a failed one): the peer must answer `duplicate` and change nothing."""
    from django.utils import timezone

    from jiyue.hotline.client import send_pending
    from jiyue.hotline.models import Message

    Message.objects.filter(message_id=message_id, direction=Message.OUT).update(
        state=Message.PENDING, next_attempt_at=timezone.now())
    send_pending()
    m = Message.objects.get(message_id=message_id, direction=Message.OUT)
    return {"state": m.state, "result": m.result, "attempts": m.attempts}


def applied_events() -> int:
    from jiyue.hotline.models import AppliedEvent

    return AppliedEvent.objects.count()


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiyue.settings")
    import django

    django.setup()
    from django.db import connections

    functions = {name: fn for name, fn in globals().items() if not name.startswith("_")
                 and name != "main" and getattr(fn, "__module__", None) == __name__ and callable(fn)}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            answer = {"ok": True, "value": functions[request["fn"]](**request.get("kwargs", {}))}
        except Exception:  # noqa: BLE001 - reported to the test
            answer = {"ok": False, "error": traceback.format_exc()}
        finally:
            connections.close_all()  # hold no connection (nor SQLite lock) between requests
        sys.stdout.write(json.dumps(answer, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
