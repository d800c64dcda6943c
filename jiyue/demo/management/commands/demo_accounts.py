from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "列出演示账号及其角色。"

    def handle(self, *args, **options):
        from jiyue.accounts.models import User
        from jiyue.demo.loader import DEMO_PASSWORD

        self.stdout.write(f"演示账号密码：{DEMO_PASSWORD}")
        for u in User.objects.filter(is_demo=True).prefetch_related("grants__site").order_by("username"):
            roles = "、".join(f"{g.get_role_display()}{'L%d' % g.level if g.level else ''}"
                             f"@{g.site.name if g.site else '全平台'}" for g in u.grants.all())
            self.stdout.write(f"{u.username:<24}{u.real_name:<8}{roles}")
