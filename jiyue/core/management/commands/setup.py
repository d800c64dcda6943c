"""`jiyue setup`: prepare a production platform and its three administrators (三员).

Creates the platform record and three separate accounts — 系统管理员, 安全管理员, 审计管理员 —
interactively or from options. No superuser and no default account is created.
"""

import getpass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext, gettext_lazy

ROLES = [
    ("system_admin", gettext_lazy("系统管理员")),
    ("security_admin", gettext_lazy("安全管理员")),
    ("audit_admin", gettext_lazy("审计管理员")),
]


class Command(BaseCommand):
    @property
    def help(self):  # a property: argparse needs a real str, not a lazy translation
        return gettext("初始化生产平台：平台信息与三员（系统、安全、审计管理员）账号。")

    def add_arguments(self, parser):
        parser.add_argument("--code", help=gettext("平台代码，如 ah"))
        parser.add_argument("--name", help=gettext("平台名称"))
        parser.add_argument("--level", choices=["province", "city"])
        parser.add_argument("--region-code", help=gettext("6 位行政区划代码"))
        for role, label in ROLES:
            flag = role.replace("_", "-")
            parser.add_argument(f"--{flag}", help=gettext("%(role)s用户名") % {"role": label})
            parser.add_argument(f"--{flag}-password", help=gettext("%(role)s密码（省略则交互输入）") % {"role": label})
        parser.add_argument("--no-input", action="store_true", help=gettext("不交互，缺少参数即报错"))

    def _ask(self, value, prompt, no_input, secret=False):
        if value:
            return value
        if no_input:
            raise CommandError(gettext("缺少参数：%(name)s") % {"name": prompt})
        return (getpass.getpass if secret else input)(gettext("%(name)s：") % {"name": prompt}).strip()

    def handle(self, *args, **o):
        from jiyue import audit
        from jiyue.accounts.models import User
        from jiyue.accounts.services import grant
        from jiyue.core.models import Platform

        ni = o["no_input"]
        if Platform.objects.exists():
            raise CommandError(gettext("平台已初始化，不能重复执行 setup。"))
        platform = Platform(
            code=self._ask(o["code"], gettext("平台代码（如 ah）"), ni),
            name=self._ask(o["name"], gettext("平台名称"), ni),
            level=self._ask(o["level"], gettext("平台层级（province 或 city）"), ni),
            region_code=self._ask(o["region_code"], gettext("行政区划代码（6 位）"), ni),
        )
        accounts = []
        for role, label in ROLES:
            flag = role
            username = self._ask(o[flag], gettext("%(role)s用户名") % {"role": label}, ni)
            password = self._ask(o[f"{flag}_password"], gettext("%(role)s密码") % {"role": label}, ni,
                                 secret=True)
            accounts.append((role, label, username, password))
        names = [a[2] for a in accounts]
        if len(set(names)) != 3:
            raise CommandError(gettext("三员必须是三个不同的账号（三员分立）。"))
        try:
            platform.full_clean()
            for role, label, username, password in accounts:
                validate_password(password, User(username=username))
        except ValidationError as exc:
            raise CommandError(gettext("；").join(exc.messages)) from exc
        with transaction.atomic():
            platform.save()
            for role, label, username, password in accounts:
                if User.objects.filter(username=username).exists():
                    raise CommandError(gettext("用户 %(username)s 已存在。") % {"username": username})
                user = User.objects.create_user(username=username, password=password,
                                                real_name=str(label))
                grant(None, user, role)
            audit.record(None, None, None, "platform.setup", platform)
        self.stdout.write(self.style.SUCCESS(
            gettext("平台 %(platform)s 已初始化；三员账号：%(names)s。")
            % {"platform": platform, "names": gettext("、").join(names)}))
        self.stdout.write(gettext("三员首次登录管理后台时，须用手机身份验证器设置动态验证码（TOTP）。"))
