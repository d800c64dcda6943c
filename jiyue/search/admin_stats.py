"""站内搜索 in the admin: 政务词典, 同义词 and 搜索统计 (the 搜索索引 screen is admin_views.py).

The platform operator manages them; the system administrator may read them; anyone else gets
403, audited. Every change is audited. Saving a dictionary word goes through the ORM: the
engine's signal emits `search.dictionary` and every node re-segments the affected documents in
the background.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Q, Sum
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem

from jiyue import audit
from jiyue.accounts import policy
from jiyue.accounts.models import Role
from jiyue.core.admin_views import AdminPage, paginate

from . import smart
from .forms import DictionaryTermForm, SynonymGroupForm
from .models import DictionaryTerm, QueryStat, SynonymGroup


def can_read(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or policy.has_role(
        user, Role.PLATFORM_OPERATOR) or policy.has_role(user, Role.SYSTEM_ADMIN)


def can_manage(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or policy.has_role(user, Role.PLATFORM_OPERATOR)


class _Guarded(AdminPage):
    header_icon = "search"
    section = ""            # the list this screen belongs to (breadcrumb)
    section_url = ""
    writes = False          # GET needs can_read; POST always needs can_manage

    def dispatch(self, request, *args, **kwargs):
        allowed = can_read(request.user) and (request.method in ("GET", "HEAD") and not self.writes
                                              or can_manage(request.user))
        if not allowed:
            audit.record(request.user, None, None, "search.admin.view", None, outcome="denied",
                         path=request.path[:200], method=request.method)
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "can_manage": can_manage(self.request.user)}

    def get_breadcrumbs_items(self):
        items = [*self.breadcrumbs_items]
        if self.section:
            items.append({"url": reverse(self.section_url), "label": self.section})
        return [*items, {"url": "", "label": self.get_page_title()}]


def _mark_handled(user, query: str) -> int:
    query = smart.normalise(query)
    if not query:
        return 0
    n = QueryStat.objects.filter(query=query, handled=False).update(handled=True)
    if n:
        audit.record(user, None, None, "search.stats.handle", query, object_type="search.query")
    return n


# --- 政务词典 --------------------------------------------------------------------------------

class DictionaryView(_Guarded):
    template_name = "search/admin/dict_list.html"
    page_title = gettext_lazy("政务词典")

    def get_context_data(self, **kwargs):
        qs = DictionaryTerm.objects.select_related("created_by").order_by("word")
        q = self.request.GET.get("q", "").replace("\x00", "").strip()[:40]
        if q:
            qs = qs.filter(Q(word__icontains=q) | Q(note__icontains=q))
        return {**super().get_context_data(**kwargs), **paginate(self.request, qs), "q": q,
                "shipped": len(smart._gov_dict_words())}


class DictionaryEditView(_Guarded):
    template_name = "search/admin/dict_form.html"
    section = gettext_lazy("政务词典")
    section_url = "jiyue_search_dictionary"
    writes = True

    def get_page_title(self):
        return _("修改词语") if self.kwargs.get("pk") else _("添加词语")

    def get_object(self):
        pk = self.kwargs.get("pk")
        return get_object_or_404(DictionaryTerm, pk=pk) if pk else None

    def get_context_data(self, form=None, **kwargs):
        term = self.get_object()
        initial = {}
        if term is None:
            word = self.request.GET.get("word", "").replace("\x00", "")
            if word:
                initial["word"] = smart.normalise(word)[:40]
        form = form or DictionaryTermForm(instance=term, initial=initial)
        return {**super().get_context_data(**kwargs), "form": form, "term": term,
                "from_query": self.request.GET.get("from", "")[:100]}

    def post(self, request, *args, **kwargs):
        term = self.get_object()
        if request.POST.get("action") == "delete" and term is not None:
            word = term.word
            term.delete()
            smart.invalidate()
            audit.record(request.user, None, None, "search.dictionary.delete", word,
                         object_type="search.dictionaryterm")
            messages.success(request, _("已删除“%(w)s”，已提交后台重建索引。") % {"w": word})
            return redirect("jiyue_search_dictionary")
        form = DictionaryTermForm(request.POST, instance=term)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        created = term is None
        obj = form.save(commit=False)
        if created:
            obj.created_by = request.user
        obj.save()
        smart.invalidate()
        audit.record(request.user, None, None,
                     "search.dictionary.add" if created else "search.dictionary.change", obj,
                     word=obj.word)
        if request.POST.get("from"):
            _mark_handled(request.user, request.POST["from"])
        messages.success(request, _("已保存“%(w)s”，已提交后台重建索引：包含该词的信息将按新词典重新切分。")
                         % {"w": obj.word})
        return redirect("jiyue_search_dictionary")


# --- 同义词 ----------------------------------------------------------------------------------

class SynonymsView(_Guarded):
    template_name = "search/admin/synonym_list.html"
    page_title = gettext_lazy("同义词")

    def get_context_data(self, **kwargs):
        qs = SynonymGroup.objects.order_by("-enabled", "terms")
        q = self.request.GET.get("q", "").replace("\x00", "").strip()[:40]
        if q:
            qs = qs.filter(Q(terms__icontains=q) | Q(note__icontains=q))
        defaults = smart.uses_defaults()
        return {**super().get_context_data(**kwargs), **paginate(self.request, qs), "q": q,
                "defaults": [",".join(g) for g in smart.DEFAULT_SYNONYMS] if defaults else None}

    def post(self, request, *args, **kwargs):
        if not can_manage(request.user):
            audit.record(request.user, None, None, "search.synonym.import", None, outcome="denied")
            raise PermissionDenied
        if request.POST.get("action") == "import_defaults" and smart.uses_defaults():
            SynonymGroup.objects.bulk_create([
                SynonymGroup(terms=",".join(g), kind=SynonymGroup.SYNONYM, created_by=request.user,
                             note=_("默认同义词")) for g in smart.DEFAULT_SYNONYMS])
            smart.invalidate()
            audit.record(request.user, None, None, "search.synonym.import", None,
                         object_type="search.synonymgroup", groups=len(smart.DEFAULT_SYNONYMS))
            messages.success(request, _("已导入 %(n)s 组默认同义词，可逐条修改或停用。")
                             % {"n": len(smart.DEFAULT_SYNONYMS)})
        return redirect("jiyue_search_synonyms")


class SynonymEditView(_Guarded):
    template_name = "search/admin/synonym_form.html"
    section = gettext_lazy("同义词")
    section_url = "jiyue_search_synonyms"
    writes = True

    def get_page_title(self):
        return _("修改同义词") if self.kwargs.get("pk") else _("添加同义词")

    def get_object(self):
        pk = self.kwargs.get("pk")
        return get_object_or_404(SynonymGroup, pk=pk) if pk else None

    def get_context_data(self, form=None, **kwargs):
        group = self.get_object()
        initial = {}
        if group is None and self.request.GET.get("terms"):
            initial["terms"] = smart.normalise(self.request.GET["terms"])[:100] + ","
        form = form or SynonymGroupForm(instance=group, initial=initial)
        return {**super().get_context_data(**kwargs), "form": form, "group": group,
                "from_query": self.request.GET.get("from", "")[:100]}

    def post(self, request, *args, **kwargs):
        group = self.get_object()
        if request.POST.get("action") == "delete" and group is not None:
            terms = group.terms
            group.delete()
            smart.invalidate()
            audit.record(request.user, None, None, "search.synonym.delete", terms,
                         object_type="search.synonymgroup")
            messages.success(request, _("已删除同义词：%(t)s") % {"t": terms})
            return redirect("jiyue_search_synonyms")
        form = SynonymGroupForm(request.POST, instance=group)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        created = group is None
        obj = form.save(commit=False)
        if created:
            obj.created_by = request.user
        obj.save()
        smart.invalidate()
        audit.record(request.user, None, None,
                     "search.synonym.add" if created else "search.synonym.change", obj,
                     terms=obj.terms, enabled=obj.enabled)
        if request.POST.get("from"):
            _mark_handled(request.user, request.POST["from"])
        messages.success(request, _("已保存同义词：%(t)s（几秒内在各节点生效）") % {"t": obj.terms})
        return redirect("jiyue_search_synonyms")


# --- 搜索统计 --------------------------------------------------------------------------------

PERIODS = (7, 30, 90)


def daily_chart(rows: list[dict], days: list) -> dict:
    """Bars of daily searches and a line of the zero-result rate, as SVG coordinates (the
    template draws them: no script, no inline style)."""
    by_day = {r["day"]: r for r in rows}
    width, height, top = 20, 160, 10
    peak = max([by_day[d]["n"] or 0 for d in days if d in by_day] + [1])
    bars, points = [], []
    for i, d in enumerate(days):
        n = (by_day.get(d) or {}).get("n") or 0
        z = (by_day.get(d) or {}).get("z") or 0
        h = round(height * n / peak, 1)
        rate = (z / n) if n else 0.0
        x = i * width
        bars.append({"x": x + 3, "y": round(top + height - h, 1), "h": h, "w": width - 6,
                     "day": d, "n": n, "z": z, "rate": round(100 * rate, 1)})
        points.append(f"{x + width / 2},{round(top + height - height * rate, 1)}")
    return {"bars": bars, "points": " ".join(points), "width": width * max(len(days), 1),
            "height": height + top + 20, "base": top + height, "peak": peak,
            "label_y": top + height + 15,
            "total": sum(b["n"] for b in bars), "zero": sum(b["z"] for b in bars)}


class StatsView(_Guarded):
    template_name = "search/admin/stats_index.html"
    page_title = gettext_lazy("搜索统计")

    def get_context_data(self, **kwargs):
        from jiyue.platform.models import Site

        request = self.request
        try:
            days = int(request.GET.get("days", 30))
        except ValueError:
            days = 30
        days = days if days in PERIODS else 30
        site = request.GET.get("site", "").strip()[:32]
        sites = list(Site.objects.order_by("code").values_list("code", "name"))
        if site and site not in {c for c, _ in sites}:
            site = ""
        today = timezone.localdate()
        since = today - timedelta(days=days - 1)
        base = QueryStat.objects.filter(day__gte=since)
        if site:
            base = base.filter(site_code=site)
        daily = list(base.values("day").annotate(n=Sum("count"), z=Sum("zero_count")).order_by("day"))
        chart = daily_chart(daily, [since + timedelta(days=i) for i in range(days)])
        popular = list(base.values("query").annotate(n=Sum("count"), z=Sum("zero_count"),
                                                    last=Max("last_total"))
                       .order_by("-n", "query")[:50])
        zero = (base.filter(zero_count__gt=0, handled=False).values("query")
                .annotate(z=Sum("zero_count"), n=Sum("count"), seen=Max("last_at"))
                .order_by("-z", "query"))
        names = dict(sites)
        return {**super().get_context_data(**kwargs), "days": days, "periods": PERIODS,
                "site": site, "sites": sites, "site_name": names.get(site, ""),
                "chart": chart, "popular": popular, **paginate(request, zero, per_page=30),
                "rate": round(100 * chart["zero"] / chart["total"], 1) if chart["total"] else 0}

    def post(self, request, *args, **kwargs):
        if not can_manage(request.user):
            audit.record(request.user, None, None, "search.stats.handle", None, outcome="denied")
            raise PermissionDenied
        query = request.POST.get("query", "")
        if request.POST.get("action") == "handle" and _mark_handled(request.user, query):
            messages.success(request, _("已标记为已处理：%(q)s") % {"q": smart.normalise(query)})
        back = reverse("jiyue_search_stats")
        keep = {k: request.POST[k] for k in ("days", "site", "p") if request.POST.get(k)}
        if keep:
            from urllib.parse import urlencode

            back += "?" + urlencode(keep)
        return redirect(back)


def admin_urls():
    return [
        path("search/dictionary/", DictionaryView.as_view(), name="jiyue_search_dictionary"),
        path("search/dictionary/add/", DictionaryEditView.as_view(), name="jiyue_search_dictionary_add"),
        path("search/dictionary/<int:pk>/", DictionaryEditView.as_view(), name="jiyue_search_dictionary_edit"),
        path("search/synonyms/", SynonymsView.as_view(), name="jiyue_search_synonyms"),
        path("search/synonyms/add/", SynonymEditView.as_view(), name="jiyue_search_synonym_add"),
        path("search/synonyms/<int:pk>/", SynonymEditView.as_view(), name="jiyue_search_synonym_edit"),
        path("search/stats/", StatsView.as_view(), name="jiyue_search_stats"),
    ]



# --- the 站内搜索 submenu ---------------------------------------------------------------------
# Registered from wagtail_hooks.py (`from . import admin_stats`). Other search screens (搜索索引)
# join the same submenu with @hooks.register(SEARCH_MENU_HOOK).

SEARCH_MENU_HOOK = "register_jiyue_search_menu_item"


class _ReaderMenuItem(MenuItem):
    def is_shown(self, request):
        return can_read(request.user)


@hooks.register("register_admin_urls")
def _search_admin_urls():
    return admin_urls()


@hooks.register("register_admin_menu_item")
def _search_menu():
    return SubmenuMenuItem(_("站内搜索"), Menu(register_hook_name=SEARCH_MENU_HOOK),
                           icon_name="search", order=860, name="jiyue-search")


@hooks.register(SEARCH_MENU_HOOK)
def _dictionary_menu_item():
    return _ReaderMenuItem(_("政务词典"), reverse("jiyue_search_dictionary"), icon_name="doc-full",
                           order=20)


@hooks.register(SEARCH_MENU_HOOK)
def _synonyms_menu_item():
    return _ReaderMenuItem(_("同义词"), reverse("jiyue_search_synonyms"), icon_name="list-ul",
                           order=30)


@hooks.register(SEARCH_MENU_HOOK)
def _stats_menu_item():
    return _ReaderMenuItem(_("搜索统计"), reverse("jiyue_search_stats"), icon_name="table",
                           order=40)
