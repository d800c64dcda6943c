"""`/api/v1/hotline`: the receiving end of the 12345 exchange (mounted in jiyue/api/api.py).

One operation, `POST /api/v1/hotline/messages`, signed with the peer's shared key
(jiyue.hotline.protocol; the contract is docs/hotline.md). The signature is checked before the
body is read, so an unsigned request learns nothing about the schema.
"""

from __future__ import annotations

import copy

from django.utils.translation import gettext_lazy
from ninja import Field, Router, Schema

from . import protocol, services

router = Router(tags=[gettext_lazy("12345热线对接")])


class ResultOut(Schema):
    message_id: str = Field(description=gettext_lazy("消息编号（原样返回）"))
    order_no: str = Field(description=gettext_lazy("工单编号（原样返回）"))
    result: str = Field(description=gettext_lazy(
        "处理结果：created（已生成信件）、duplicate（重复消息或重复工单，未作改变）、transferred、closed、"
        "reopened、recorded（已记录）、unchanged（状态已是如此）；本平台推送、由对方办理的工单另有 accepted、"
        "handling、rejected、replied"))
    query_code: str | None = Field(None, description=gettext_lazy("新建工单时：信件查询码"))


def _inline(schema: dict) -> dict:
    """The pydantic JSON schema with its $defs inlined (the OpenAPI document has no room for
    them under this operation)."""
    defs = schema.pop("$defs", {})

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(copy.deepcopy(defs[ref.rsplit("/", 1)[-1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def _body_schema() -> dict:
    return _inline(protocol.Envelope.model_json_schema())


HEADERS = [
    {"name": protocol.H_PEER, "in": "header", "required": True, "schema": {"type": "string"},
     "description": gettext_lazy("发送方标识（本平台“12345对接配置”中的对方标识）")},
    {"name": protocol.H_TIMESTAMP, "in": "header", "required": True, "schema": {"type": "string"},
     "description": gettext_lazy("Unix 时间（秒），与本平台时钟相差不得超过5分钟")},
    {"name": protocol.H_NONCE, "in": "header", "required": True, "schema": {"type": "string"},
     "description": gettext_lazy("16至64位随机串（字母、数字、_、-），5分钟内不得重复")},
    {"name": protocol.H_SIGNATURE, "in": "header", "required": True, "schema": {"type": "string"},
     "description": gettext_lazy("HMAC-SM3（共享密钥，“方法\\n路径\\n时间戳\\nnonce\\nSM3(请求体)十六进制”）的十六进制小写")},
]


@router.post("/messages", response={200: ResultOut}, summary=gettext_lazy("接收12345工单消息"),
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": _body_schema()}}}, "parameters": HEADERS},
             description=gettext_lazy(
                 "12345平台向本平台发送工单消息：新建工单（order.create，生成12345热线渠道的信件）、"
                 "状态变更（order.status：转办、已办结、退回重办等）、回访满意度（order.satisfaction）；"
                 "本平台推送、由对方办理的工单还接收对方的受理、转办、办理中、退回、办结和答复（order.reply）。"
                 "每个请求须按 docs/hotline.md 签名（HMAC-SM3），时间戳前后5分钟内有效，nonce 不得重复。"
                 "按工单编号和消息编号幂等：重发同一消息或同一工单不会产生重复信件。"
                 "签名错误、时间戳过期或 nonce 重复返回 401；消息格式错误返回 400（errors 中按字段给出中文说明）；"
                 "未知工单返回 404；与当前状态冲突（如未答复即办结）或消息编号已用于另一条消息返回 409。"))
def receive_message(request):
    from jiyue.api.api import problem

    try:
        _status, result = services.receive(request.method, request.path, request.headers, request.body)
    except services.Refused as exc:
        extra = {"errors": exc.errors} if exc.errors else {}
        return problem(exc.status, exc.title, exc.detail, **extra)
    return result
