from django.core.management.base import BaseCommand
from django.utils.translation import gettext


class Command(BaseCommand):
    @property
    def help(self):  # a property: argparse needs a real str, not a lazy translation
        return gettext("列出演示账号及其角色。")

    def handle(self, *args, **options):
        from jiyue.accounts.models import User
        from jiyue.demo.loader import DEMO_PASSWORD

        self.stdout.write(gettext("演示账号密码：%(password)s") % {"password": DEMO_PASSWORD})
        for u in User.objects.filter(is_demo=True).prefetch_related("grants__site").order_by("username"):
            roles = gettext("、").join(f"{g.get_role_display()}{'L%d' % g.level if g.level else ''}"
                             f"@{g.site.name if g.site else gettext('全平台')}" for g in u.grants.all())
            self.stdout.write(f"{u.username:<24}{u.real_name:<8}{roles}")
