"""`jiyue oidc_key status|rotate|prune`: the RSA key that signs id_tokens (jiyue.oidc.keys)."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext

from jiyue import audit
from jiyue.oidc import keys


def _kid(pem: str) -> str:
    from oauth2_provider.utils import jwk_from_pem

    return jwk_from_pem(pem).thumbprint()


class Command(BaseCommand):
    @property
    def help(self):
        return gettext("身份令牌签名密钥：status 查看；rotate 生成新密钥（旧密钥继续用于验证）；"
                       "prune 删除早于令牌有效期的旧密钥。轮换或删除后请重启服务。")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", metavar="{status,rotate,prune}")
        sub.required = True
        sub.add_parser("status", help=gettext("当前密钥与仍公布的旧密钥"))
        sub.add_parser("rotate", help=gettext("生成新的签名密钥"))
        prune = sub.add_parser("prune", help=gettext("删除已停用足够久的旧密钥"))
        prune.add_argument("--older-than-days", type=int, default=None,
                           help=gettext("默认：刷新令牌有效期（至少 1 天）"))

    def handle(self, *args, action=None, **options):
        directory = settings.JIYUE_HOME / "keys"
        w = self.stdout.write
        if action == "rotate":
            retired = keys.rotate(directory)
            audit.record(None, None, None, "oidc.key.rotate", retired.name,
                         kid=_kid(keys.active_key(directory)))
            w(gettext("已生成新的签名密钥，旧密钥保存为 %(path)s，继续用于验证。请重启服务使新密钥生效。")
              % {"path": retired})
            return
        if action == "prune":
            days = options["older_than_days"]
            if days is None:
                seconds = settings.OAUTH2_PROVIDER.get("REFRESH_TOKEN_EXPIRE_SECONDS") or 86400
                days = max(1, -(-int(seconds) // 86400))
            removed = keys.prune(directory, days * 86400)
            for path in removed:
                audit.record(None, None, None, "oidc.key.prune", path.name)
            w(gettext("已删除 %(n)d 个旧密钥。") % {"n": len(removed)})
            return
        active, retired = keys.load(directory)
        w(gettext("当前签名密钥：%(kid)s（%(path)s）") % {"kid": _kid(active),
                                                     "path": directory / keys.ACTIVE})
        for pem in retired:
            w(gettext("旧密钥（仅用于验证）：%(kid)s") % {"kid": _kid(pem)})
