"""引用管理: placements in the admin — pending offers and requests, and where things are shown."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue.accounts import policy
from jiyue.core.admin_views import AdminPage, paginate

from . import services
from .services import placements_for
from .models import Placement, Resource

ACTIONS = services.PLACEMENT_ACTIONS
DONE = {"accept": gettext_lazy("已接收推送"), "refuse": gettext_lazy("已拒绝推送"),
        "approve": gettext_lazy("已批准引用申请"), "reject": gettext_lazy("已拒绝引用申请"),
        "withdraw": gettext_lazy("已撤下")}


class PlaceForm(forms.Form):
    """Put a resource into a column: the service decides whether that is a direct placement,
    an offer to another site, a request, or refused (unshared)."""

    resource = forms.CharField(label=gettext_lazy("信息资源标识"), max_length=64,
                               help_text=gettext_lazy("例如 ah:123（在信息资源列表与详情中可见）。"))
    column = forms.ModelChoiceField(label=gettext_lazy("目标栏目"), queryset=None)

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from jiyue.platform.models import Column
        from jiyue.platform.services import site_of_page

        self.user = user
        self.fields["column"].queryset = Column.objects.live().exclude(column_type="外链").order_by("path")
        self.fields["column"].label_from_instance = lambda c: f"{site_of_page(c)} / {c.title}"

    def clean_resource(self):
        gid = self.cleaned_data["resource"].strip()
        r = policy.resources_visible(self.user, Resource.objects.filter(global_id=gid)).first()
        if r is None:
            raise ValidationError(_("没有找到该信息资源，或您无权查看。"))
        return r.specific


class PlacementsView(AdminPage):
    template_name = "library/admin/placements.html"
    page_title = gettext_lazy("引用管理")
    header_icon = "link"

    def dispatch(self, request, *args, **kwargs):
        if not policy.grants(request.user) and not request.user.is_superuser:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        user = self.request.user
        mine = placements_for(user)
        offers = [p for p in mine.filter(state=Placement.OFFERED)
                  if policy.can_place_into(user, p.column)]
        requests = mine.filter(state=Placement.REQUESTED,
                               resource__organisation_id__in=policy.editor_organisation_ids(user))
        listing = mine.exclude(state__in=[Placement.OFFERED, Placement.REQUESTED])
        if self.request.GET.get("resource"):
            listing = listing.filter(resource__global_id=self.request.GET["resource"])
        if self.request.GET.get("state"):
            listing = listing.filter(state=self.request.GET["state"])
        listing = listing.order_by("site__code", "column__path", "-pinned", "sort_order")
        return {**super().get_context_data(**kwargs), "offers": offers, "requests": requests,
                "place_form": kwargs.get("place_form") or PlaceForm(user),
                **paginate(self.request, listing), "states": Placement.STATES,
                "filter_resource": self.request.GET.get("resource", ""),
                "filter_state": self.request.GET.get("state", "")}

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action")
        if action == "place":
            form = PlaceForm(request.user, request.POST)
            if form.is_valid():
                try:
                    p = services.place(request.user, form.cleaned_data["resource"],
                                       form.cleaned_data["column"])
                except (PermissionDenied, ValidationError) as exc:
                    form.add_error(None, _("；").join(getattr(exc, "messages", [str(exc)])))
                else:
                    messages.success(request, _("%(state)s：%(title)s（%(site)s / %(column)s）") % {
                        "state": p.get_state_display(), "title": p.resource.title,
                        "site": p.site.name, "column": p.column.title})
                    return redirect("jiyue_placements")
            return self.render_to_response(self.get_context_data(place_form=form))
        if action not in ACTIONS:
            messages.error(request, _("未知操作。"))
            return redirect("jiyue_placements")
        p = get_object_or_404(placements_for(request.user), pk=request.POST.get("placement"))
        try:
            ACTIONS[action](request.user, p)
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("您无权执行该操作。"))
        except ValidationError as exc:
            messages.error(request, _("；").join(exc.messages))
        else:
            messages.success(request, _("%(done)s：%(title)s（%(site)s / %(column)s）") % {
                "done": DONE[action], "title": p.resource.title,
                "site": p.site.name, "column": p.column.title})
        return redirect(request.get_full_path())
