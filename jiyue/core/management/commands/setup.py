"""`jiyue setup`: prepare a production platform and its three administrators (三员).

Creates the platform record and three separate accounts — 系统管理员, 安全管理员, 审计管理员 —
interactively or from options. No superuser and no default account is created.
"""

import getpass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

ROLES = [("system_admin", "系统管理员"), ("security_admin", "安全管理员"), ("audit_admin", "审计管理员")]


class Command(BaseCommand):
    help = "初始化生产平台：平台信息与三员（系统、安全、审计管理员）账号。"

    def add_arguments(self, parser):
        parser.add_argument("--code", help="平台代码，如 ah")
        parser.add_argument("--name", help="平台名称")
        parser.add_argument("--level", choices=["province", "city"])
        parser.add_argument("--region-code", help="6 位行政区划代码")
        for role, label in ROLES:
            flag = role.replace("_", "-")
            parser.add_argument(f"--{flag}", help=f"{label}用户名")
            parser.add_argument(f"--{flag}-password", help=f"{label}密码（省略则交互输入）")
        parser.add_argument("--no-input", action="store_true", help="不交互，缺少参数即报错")

    def _ask(self, value, prompt, no_input, secret=False):
        if value:
            return value
        if no_input:
            raise CommandError(f"缺少参数：{prompt}")
        return (getpass.getpass if secret else input)(f"{prompt}：").strip()

    def handle(self, *args, **o):
        from jiyue import audit
        from jiyue.accounts.models import User
        from jiyue.accounts.services import grant
        from jiyue.core.models import Platform

        ni = o["no_input"]
        if Platform.objects.exists():
            raise CommandError("平台已初始化，不能重复执行 setup。")
        platform = Platform(
            code=self._ask(o["code"], "平台代码（如 ah）", ni),
            name=self._ask(o["name"], "平台名称", ni),
            level=self._ask(o["level"], "平台层级（province 或 city）", ni),
            region_code=self._ask(o["region_code"], "行政区划代码（6 位）", ni),
        )
        accounts = []
        for role, label in ROLES:
            flag = role
            username = self._ask(o[flag], f"{label}用户名", ni)
            password = self._ask(o[f"{flag}_password"], f"{label}密码", ni, secret=True)
            accounts.append((role, label, username, password))
        names = [a[2] for a in accounts]
        if len(set(names)) != 3:
            raise CommandError("三员必须是三个不同的账号（三员分立）。")
        try:
            platform.full_clean()
            for role, label, username, password in accounts:
                validate_password(password, User(username=username))
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from exc
        with transaction.atomic():
            platform.save()
            for role, label, username, password in accounts:
                if User.objects.filter(username=username).exists():
                    raise CommandError(f"用户 {username} 已存在。")
                user = User.objects.create_user(username=username, password=password,
                                                real_name=label)
                grant(None, user, role)
            audit.record(None, None, None, "platform.setup", platform)
        self.stdout.write(self.style.SUCCESS(
            f"平台 {platform} 已初始化；三员账号：{'、'.join(names)}。"))
