from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LibraryConfig(AppConfig):
    name = "jiyue.library"
    label = "library"
    verbose_name = _("信息资源库")

    def ready(self):
        from . import signals, tasks  # noqa: F401
        from wagtail.models import ReferenceIndex

        from .kinds import register_builtin
        from .models import Placement

        register_builtin()
        # Size and real-type checks on Wagtail's other upload forms (profile picture, redirect
        # import); documents and images use jiyue.library.forms.
        from .uploads import install

        install()
        # Wagtail's usage pages and delete confirmations then show where a resource is placed.
        ReferenceIndex.register_model(Placement)
