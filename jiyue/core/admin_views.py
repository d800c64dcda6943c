"""Small helpers shared by jiyue's own admin screens."""

from django.core.paginator import Paginator


def paginate(request, queryset, per_page: int = 50) -> dict:
    """A page of `queryset` plus the query string (without the page number) for the pager
    (template: jiyue/admin/pager.html)."""
    query = request.GET.copy()
    query.pop("p", None)
    return {"page": Paginator(queryset, per_page).get_page(request.GET.get("p")),
            "query": query.urlencode()}
