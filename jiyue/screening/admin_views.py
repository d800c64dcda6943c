"""内容筛查 › 敏感词 in the admin: the platform operator's sensitive-word list.

List (search, filters, a box to try a text against the list), add, edit (停用 = enabled off;
nothing is deleted, so the history stays readable), import a TXT/CSV file (a background job;
the run's page shows its progress and every bad line with its number). Only the platform
operator (and a superuser) may open these screens; anyone else gets 403, audited. Every change
is audited.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue import audit
from jiyue.accounts import policy
from jiyue.accounts.models import Role
from jiyue.core.admin_views import AdminPage, paginate

from . import matcher, services, tasks
from .forms import ImportForm, SensitiveWordForm
from .models import Category, ImportRun, Level, SensitiveWord

TRY_LIMIT = 2000


def can_manage(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or policy.has_role(user, Role.PLATFORM_OPERATOR)


class _Guarded(AdminPage):
    header_icon = "warning"
    section = ""

    def dispatch(self, request, *args, **kwargs):
        if not can_manage(request.user):
            audit.record(request.user, None, None, "screening.admin.view", None, outcome="denied",
                         path=request.path[:200], method=request.method)
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        items = [*self.breadcrumbs_items]
        if self.section:
            items.append({"url": reverse("jiyue_screening_words"), "label": _("敏感词")})
        return [*items, {"url": "", "label": self.get_page_title()}]


def _choice(value, choices) -> str:
    return value if value in dict(choices) else ""


class WordsView(_Guarded):
    template_name = "screening/admin/word_list.html"
    page_title = gettext_lazy("敏感词")

    def get_context_data(self, **kwargs):
        g = self.request.GET
        qs = SensitiveWord.objects.order_by("word")
        q = g.get("q", "").replace("\x00", "").strip()[:50]
        category = _choice(g.get("category", ""), Category.choices)
        level = _choice(g.get("level", ""), Level.choices)
        state = _choice(g.get("state", ""), [("on", ""), ("off", "")])
        if q:
            qs = qs.filter(Q(word__icontains=matcher.normalise(q) or q) | Q(note__icontains=q))
        if category:
            qs = qs.filter(category=category)
        if level:
            qs = qs.filter(level=level)
        if state:
            qs = qs.filter(enabled=state == "on")
        sample = g.get("try", "").replace("\x00", "")[:TRY_LIMIT]
        cats, levels = dict(Category.choices), dict(Level.choices)
        hits = [{"word": h.word, "category": cats.get(h.category, h.category),
                 "level": levels.get(h.level, h.level), "start": h.start, "end": h.end}
                for h in (services.find(sample) if sample else [])]
        return {**super().get_context_data(**kwargs), **paginate(self.request, qs), "q": q,
                "category": category, "level": level, "state": state,
                "categories": Category.choices, "levels": Level.choices,
                "total": SensitiveWord.objects.count(),
                "enabled_total": SensitiveWord.objects.filter(enabled=True).count(),
                "sample": sample, "hits": hits, "tried": bool(sample),
                "runs": ImportRun.objects.order_by("-created_at")[:5]}


class WordEditView(_Guarded):
    template_name = "screening/admin/word_form.html"
    section = "words"

    def get_page_title(self):
        return _("修改敏感词") if self.kwargs.get("pk") else _("添加敏感词")

    def get_object(self):
        pk = self.kwargs.get("pk")
        return get_object_or_404(SensitiveWord, pk=pk) if pk else None

    def get_context_data(self, form=None, **kwargs):
        word = self.get_object()
        return {**super().get_context_data(**kwargs), "word": word,
                "form": form or SensitiveWordForm(instance=word)}

    def post(self, request, *args, **kwargs):
        word = self.get_object()
        created = word is None
        before = None if created else (word.category, word.level, word.enabled)
        form = SensitiveWordForm(request.POST, instance=word)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        obj = form.save(commit=False)
        if created:
            obj.created_by = request.user
        obj.save()
        matcher.invalidate()
        action = "screening.word.add" if created else (
            "screening.word.disable" if before and before[2] and not obj.enabled else "screening.word.change")
        audit.record(request.user, None, None, action, obj, category=obj.category, level=obj.level,
                     enabled=obj.enabled)
        messages.success(request, _("已保存“%(w)s”。") % {"w": obj.word})
        return redirect("jiyue_screening_words")


class ImportView(_Guarded):
    template_name = "screening/admin/import.html"
    page_title = gettext_lazy("导入敏感词")
    section = "words"

    def get_context_data(self, form=None, **kwargs):
        return {**super().get_context_data(**kwargs), "form": form or ImportForm(),
                "runs": ImportRun.objects.select_related("created_by").order_by("-created_at")[:20]}

    def post(self, request, *args, **kwargs):
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            audit.record(request.user, None, None, "screening.word.import", None, outcome="failure",
                         reason="; ".join(str(e) for errs in form.errors.values() for e in errs)[:200])
            return self.render_to_response(self.get_context_data(form=form))
        name = (getattr(form.cleaned_data["file"], "name", "") or "words.txt")[:200]
        run = ImportRun.objects.create(name=name, text=form.text, created_by=request.user,
                                       default_category=form.cleaned_data["category"],
                                       default_level=form.cleaned_data["level"])
        tasks.request_import(run.pk)
        audit.record(request.user, None, None, "screening.word.import", run, file=name,
                     size=len(form.text))
        messages.success(request, _("已提交导入“%(n)s”，正在后台处理。") % {"n": name})
        return redirect("jiyue_screening_import_run", pk=run.pk)


class ImportRunView(_Guarded):
    template_name = "screening/admin/import_run.html"
    section = "words"

    def get_page_title(self):
        return _("导入结果")

    def get_context_data(self, **kwargs):
        run = get_object_or_404(ImportRun, pk=self.kwargs["pk"])
        busy = run.state in (ImportRun.PENDING, ImportRun.RUNNING)
        return {**super().get_context_data(**kwargs), "run": run, "busy": busy,
                "percent": round(100 * run.done / run.total) if run.total else (0 if busy else 100)}

    def post(self, request, *args, **kwargs):
        """再次导入: start a failed or stuck run again."""
        run = get_object_or_404(ImportRun, pk=self.kwargs["pk"])
        if run.state != ImportRun.DONE and run.text:
            ImportRun.objects.filter(pk=run.pk).update(state=ImportRun.PENDING)
            tasks.request_import(run.pk)
            audit.record(request.user, None, None, "screening.word.import.retry", run)
            messages.success(request, _("已重新提交导入。"))
        return redirect("jiyue_screening_import_run", pk=run.pk)


def admin_urls():
    return [
        path("screening/words/", WordsView.as_view(), name="jiyue_screening_words"),
        path("screening/words/add/", WordEditView.as_view(), name="jiyue_screening_word_add"),
        path("screening/words/<int:pk>/", WordEditView.as_view(), name="jiyue_screening_word_edit"),
        path("screening/import/", ImportView.as_view(), name="jiyue_screening_import"),
        path("screening/import/<int:pk>/", ImportRunView.as_view(), name="jiyue_screening_import_run"),
    ]
