"""Small helpers shared by jiyue's own admin screens."""

from django.core.paginator import Paginator
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin


class AdminPage(WagtailAdminTemplateMixin, TemplateView):
    """A jiyue admin screen: breadcrumbs 首页 › its title, in Wagtail's layout."""

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.get_page_title()}]


def paginate(request, queryset, per_page: int = 50) -> dict:
    """A page of `queryset` plus the query string (without the page number) for the pager
    (template: jiyue/admin/pager.html)."""
    query = request.GET.copy()
    query.pop("p", None)
    return {"page": Paginator(queryset, per_page).get_page(request.GET.get("p")),
            "query": query.urlencode()}
