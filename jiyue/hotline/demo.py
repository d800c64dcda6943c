"""Demo content of the 12345 exchange: a peer (the province's 12345 hotline; its key is random
and not shown) and a few work orders received from it through the real receiving path
(signed messages), which become letters in the hotline mailbox and the departments' queues."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _

ORDERS = Path(__file__).with_name("demo_orders.json")
PATH = "/api/v1/hotline/messages"


def load(loader) -> None:
    from . import protocol, services
    from .models import Peer, WorkOrder

    orgs = loader.orgs
    home = orgs.get("bgt") or orgs.get("portal") or next(iter(orgs.values()), None)
    if home is None:
        return
    code = f"{loader.key}12345"
    peer = Peer.objects.filter(code=code).first()
    if peer is None:
        peer = Peer.objects.create(code=code, name=_("12345政务服务便民热线（演示）"), organisation=home,
                                   key=protocol.new_key(), key_rotated_at=timezone.now(), enabled=True)
    now = timezone.now()
    for i, row in enumerate(json.loads(ORDERS.read_text(encoding="utf-8")), 1):
        order_no = f"{loader.key.upper()}12345{now:%Y}{i:06d}"
        if WorkOrder.objects.filter(order_no=order_no).exists():
            continue
        unit = orgs.get(row["unit"]) if row["unit"] else None
        received = now - timedelta(days=i)
        body = protocol.dumps({
            "message_id": f"demo-{order_no}", "type": protocol.CREATE, "order_no": order_no,
            "sent_at": received.isoformat(),
            "order": {"category": row["category"], "title": row["title"], "content": row["content"],
                      "caller": row["caller"], "received_at": received.isoformat(),
                      "unit": {"name": unit.name, "code": unit.code} if unit else None,
                      "status": protocol.ASSIGNED if unit else protocol.ACCEPTED}})
        headers = protocol.signed_headers(peer.code, peer.key, PATH, body)
        services.receive("POST", PATH, headers, body)
