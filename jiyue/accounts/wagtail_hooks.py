"""Admin-wide scoping that is not tied to one model."""

from django.core.exceptions import PermissionDenied
from wagtail import hooks

from . import policy

# Wagtail's cross-site reports list log entries and workflow states by content type, not by
# organisation: only platform staff (operator, the three administrators) may open them.
PLATFORM_ONLY_PREFIXES = ("/admin/reports/", "/admin/workflows/", "/admin/users/", "/admin/groups/",
                          "/admin/sites/", "/admin/locales/", "/admin/collections/")


class PlatformOnlyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if path.startswith(PLATFORM_ONLY_PREFIXES) and request.user.is_authenticated \
                and not policy.is_platform_staff(request.user):
            raise PermissionDenied
        return self.get_response(request)


@hooks.register("construct_main_menu")
def hide_platform_menus(request, menu_items):
    if not policy.is_platform_staff(request.user):
        menu_items[:] = [i for i in menu_items if i.name not in ("reports", "settings")]
