from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "jiyue.platform"
    label = "platform"
    verbose_name = "站点与栏目"
