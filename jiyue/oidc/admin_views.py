"""对接系统: the 系统管理员 registers the linked systems that log people in through the
platform (OpenID Connect clients). Every view checks the permission; every change is audited
(services)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue import audit
from jiyue.core.admin_views import AdminPage, paginate

from . import services
from .forms import LinkedSystemForm
from .models import LinkedSystem


class _Guarded(AdminPage):
    header_icon = "link"

    def dispatch(self, request, *args, **kwargs):
        if not services.can_manage(request.user):
            audit.record(request.user, None, None, "oidc.client.view", None, outcome="denied",
                         path=request.path[:200])
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        from django.urls import reverse

        items = [*self.breadcrumbs_items]
        if self.__class__ is not ClientsView:
            items.append({"url": reverse("jiyue_oidc_clients"), "label": _("对接系统")})
        return [*items, {"url": "", "label": self.get_page_title()}]


class ClientsView(_Guarded):
    template_name = "oidc/admin/clients.html"
    page_title = gettext_lazy("对接系统")

    def get_context_data(self, **kwargs):
        qs = LinkedSystem.objects.select_related("application", "created_by") \
            .order_by("-enabled", "application__name")
        q = self.request.GET.get("q", "").strip()[:100]
        if q:
            qs = qs.filter(Q(application__name__icontains=q) | Q(application__client_id__icontains=q))
        from django.conf import settings

        from oauth2_provider.settings import oauth2_settings

        issuer = oauth2_settings.OIDC_ISS_ENDPOINT or getattr(settings, "JIYUE_IDP_URL", "")
        return {**super().get_context_data(**kwargs), **paginate(self.request, qs), "q": q,
                "issuer": issuer.rstrip("/")}


class ClientCreateView(_Guarded):
    template_name = "oidc/admin/client_form.html"
    page_title = gettext_lazy("登记对接系统")

    def get_context_data(self, form=None, **kwargs):
        return {**super().get_context_data(**kwargs), "form": form or LinkedSystemForm()}

    def post(self, request, *args, **kwargs):
        form = LinkedSystemForm(request.POST)
        if form.is_valid():
            try:
                system, secret = services.register(request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.apply_errors(exc)
            else:
                messages.success(request, _("已登记对接系统：%(name)s") % {"name": system})
                return SecretView.show(request, system, secret, created=True)
        return self.render_to_response(self.get_context_data(form=form))


class ClientEditView(_Guarded):
    template_name = "oidc/admin/client_form.html"
    page_title = gettext_lazy("修改对接系统")

    def get_object(self):
        return get_object_or_404(LinkedSystem.objects.select_related("application"), pk=self.kwargs["pk"])

    def get_context_data(self, form=None, **kwargs):
        system = self.get_object()
        form = form or LinkedSystemForm(initial=LinkedSystemForm.initial_for(system), editing=True)
        return {**super().get_context_data(**kwargs), "form": form, "system": system}

    def post(self, request, *args, **kwargs):
        system = self.get_object()
        action = request.POST.get("action", "save")
        if action in ("disable", "enable"):
            services.set_enabled(request.user, system, action == "enable")
            messages.success(request, _("已停用：%(name)s，已签发的令牌全部作废。") % {"name": system}
                             if action == "disable" else _("已启用：%(name)s") % {"name": system})
            return redirect("jiyue_oidc_client", pk=system.pk)
        if action == "reset_secret":
            try:
                secret = services.reset_secret(request.user, system)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect("jiyue_oidc_client", pk=system.pk)
            return SecretView.show(request, system, secret, created=False)
        form = LinkedSystemForm(request.POST, initial=LinkedSystemForm.initial_for(system), editing=True)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k not in ("client_id", "confidential")}
            try:
                services.update(request.user, system, **data)
            except ValidationError as exc:
                form.apply_errors(exc)
            else:
                messages.success(request, _("已保存：%(name)s") % {"name": system})
                return redirect("jiyue_oidc_clients")
        return self.render_to_response(self.get_context_data(form=form))


class SecretView(_Guarded):
    """The client secret, shown once right after registration or a reset (kept in the session
    between the POST and this page, then dropped): never again."""

    template_name = "oidc/admin/secret.html"
    page_title = gettext_lazy("客户端密钥")
    SESSION_KEY = "jiyue_oidc_secret"

    @classmethod
    def show(cls, request, system, secret, *, created: bool):
        request.session[cls.SESSION_KEY] = {"pk": system.pk, "secret": secret, "created": created}
        return redirect("jiyue_oidc_client_secret", pk=system.pk)

    def get(self, request, *args, **kwargs):
        system = get_object_or_404(LinkedSystem.objects.select_related("application"), pk=kwargs["pk"])
        shown = request.session.pop(self.SESSION_KEY, None)
        if not shown or shown.get("pk") != system.pk:
            messages.warning(request, _("密钥只在登记或重置后显示一次；如已遗失，请重置密钥。"))
            return redirect("jiyue_oidc_client", pk=system.pk)
        response = self.render_to_response(self.get_context_data(
            system=system, secret=shown["secret"], created=shown["created"]))
        response["Cache-Control"] = "no-store"
        return response
