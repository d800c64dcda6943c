"""人员授权 (role grants) in the admin (审计日志 is in jiyue/audit/views.py)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue.core.admin_views import AdminPage, paginate

from . import policy, services
from .models import EDITORIAL_ROLES, INTERACTION_ROLES, Role, RoleGrant, User


def grantable_roles(actor) -> list[tuple[str, str]]:
    return [(r.value, r.label) for r in Role
            if policy.can_grant(actor, r.value) or (
                r in EDITORIAL_ROLES | INTERACTION_ROLES and any(g.role == Role.SITE_ADMIN for g in policy.grants(actor)))]


def administered_sites(actor):
    from jiyue.platform.models import Site

    if actor.is_superuser or policy.has_role(actor, Role.SECURITY_ADMIN):
        return Site.objects.all()
    return Site.objects.filter(pk__in=[g.site_id for g in policy.grants(actor) if g.role == Role.SITE_ADMIN])


def visible_grants(actor):
    qs = RoleGrant.objects.select_related("user", "site", "column", "granted_by")
    if actor.is_superuser or policy.has_role(actor, Role.SECURITY_ADMIN):
        return qs
    return qs.filter(site__in=administered_sites(actor))


class GrantForm(forms.Form):
    user = forms.ModelChoiceField(label=gettext_lazy("用户"), queryset=User.objects.none())
    role = forms.ChoiceField(label=gettext_lazy("角色"))
    site = forms.ModelChoiceField(label=gettext_lazy("站点"), queryset=None, required=False,
                                  help_text=gettext_lazy("平台级角色不选站点。"))
    column = forms.ModelChoiceField(label=gettext_lazy("栏目（含下级，可选）"), queryset=None, required=False)
    level = forms.IntegerField(label=gettext_lazy("审核级别"), min_value=1, max_value=5, required=False,
                               help_text=gettext_lazy("仅审核员填写，如 1 为初审。"))

    def __init__(self, actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from jiyue.platform.models import Column

        sites = administered_sites(actor)
        self.fields["site"].queryset = sites
        self.fields["role"].choices = grantable_roles(actor)
        homes = [s.home.path for s in sites.select_related("home") if s.home]
        q = Q(pk__in=[])
        for path in homes:
            q |= Q(path__startswith=path)
        self.fields["column"].queryset = Column.objects.filter(q).order_by("path")
        users = User.objects.filter(is_active=True, kind=User.KIND_STAFF)
        if not (actor.is_superuser or policy.has_role(actor, Role.SECURITY_ADMIN)):
            users = users.filter(organisation_id__in=sites.values("organisation_id"))
        self.fields["user"].queryset = users.order_by("username")


class GrantsView(AdminPage):
    template_name = "accounts/admin/grants.html"
    page_title = gettext_lazy("人员授权")
    header_icon = "key"

    def dispatch(self, request, *args, **kwargs):
        if not grantable_roles(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, form=None, **kwargs):
        grants = visible_grants(self.request.user).order_by("site__code", "user__username", "role")
        if self.request.GET.get("q"):
            q = self.request.GET["q"]
            grants = grants.filter(Q(user__username__icontains=q) | Q(user__real_name__icontains=q))
        return {**super().get_context_data(**kwargs), **paginate(self.request, grants),
                "q": self.request.GET.get("q", ""),
                "form": form or GrantForm(self.request.user)}

    def post(self, request, *args, **kwargs):
        actor = request.user
        if request.POST.get("revoke"):
            g = get_object_or_404(visible_grants(actor), pk=request.POST["revoke"])
            try:
                services.revoke(actor, g)
                messages.success(request, _("已撤销授权：%(grant)s") % {"grant": g})
            except PermissionDenied as exc:
                messages.error(request, str(exc))
            return redirect("jiyue_grants")
        form = GrantForm(actor, request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                g = services.grant(actor, d["user"], d["role"], site=d["site"], column=d["column"],
                                   level=d["level"])
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or _("您无权授予该角色。"))
            except ValidationError as exc:
                for field, errs in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
                    form.add_error(None if field in ("__all__", "user") else field, errs)
            else:
                messages.success(request, _("已授权：%(grant)s") % {"grant": g})
                return redirect("jiyue_grants")
        return self.render_to_response(self.get_context_data(form=form))


class TokensView(AdminPage):
    """接口令牌: a staff member's personal API tokens (shown once, stored as a hash)."""

    template_name = "accounts/admin/tokens.html"
    page_title = gettext_lazy("接口令牌")
    header_icon = "key"

    def dispatch(self, request, *args, **kwargs):
        if not (policy.grants(request.user) or request.user.is_superuser):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        from wagtail.models import APIToken

        tokens = APIToken.objects.filter(user=self.request.user).order_by("-created")
        return {**super().get_context_data(**kwargs), "tokens": tokens}

    def post(self, request, *args, **kwargs):
        from django.utils import timezone
        from wagtail.models import APIToken

        from jiyue import audit

        if request.POST.get("revoke"):
            token = get_object_or_404(APIToken, pk=request.POST["revoke"], user=request.user)
            APIToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
            audit.record(request.user, None, None, "token.revoke", token)
            messages.success(request, _("已吊销令牌：%(name)s") % {"name": token.name})
            return redirect("jiyue_tokens")
        name = (request.POST.get("name") or "").strip()[:60]
        if not name:
            messages.error(request, _("请填写令牌名称（用途）。"))
            return redirect("jiyue_tokens")
        token, plaintext = APIToken.create_token(user=request.user, name=name)
        audit.record(request.user, None, None, "token.create", token)
        return self.render_to_response(self.get_context_data(new_token=plaintext))
