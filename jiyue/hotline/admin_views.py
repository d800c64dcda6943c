"""12345热线 in the admin: 对接配置 (the 系统管理员 only: address, shared key shown once and
rotated, enabled, what we push) and 交换记录 (the operator and the 系统管理员: every message
either way with its delivery state, attempts and last error; 重发). No message content (names,
phone numbers) is shown. Every action audited (services)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue import audit
from jiyue.core.admin_views import AdminPage, paginate

from . import protocol, services
from .forms import PeerForm
from .models import Message, Peer


class _ConfigPage(AdminPage):
    header_icon = "link"

    def dispatch(self, request, *args, **kwargs):
        if not services.can_configure(request.user):
            audit.record(request.user, None, None, "hotline.peer.view", None, outcome="denied",
                         path=request.path[:200])
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        items = [*self.breadcrumbs_items]
        if self.__class__ is not PeersView:
            items.append({"url": reverse("jiyue_hotline_peers"), "label": _("12345对接配置")})
        return [*items, {"url": "", "label": self.get_page_title()}]


class PeersView(_ConfigPage):
    template_name = "hotline/admin/peers.html"
    page_title = gettext_lazy("12345对接配置")

    def get_context_data(self, **kwargs):
        peers = Peer.objects.select_related("organisation").order_by("code")
        return {**super().get_context_data(**kwargs), "peers": peers,
                "endpoint": self.request.build_absolute_uri("/api/v1/hotline/messages")}


class PeerCreateView(_ConfigPage):
    template_name = "hotline/admin/peer_form.html"
    page_title = gettext_lazy("新增12345对接")

    def get_context_data(self, form=None, **kwargs):
        return {**super().get_context_data(**kwargs), "form": form or PeerForm()}

    def post(self, request, *args, **kwargs):
        form = PeerForm(request.POST)
        if form.is_valid():
            values = form.values()
            given = values.get("key", "")
            try:
                peer, key = services.create_peer(request.user, **values)
            except ValidationError as exc:
                _apply(form, exc)
            else:
                if given:  # the other side's key: nothing to show
                    messages.success(request, _("已新增：%(name)s（使用对方提供的共享密钥）") % {"name": peer.name})
                    return redirect("jiyue_hotline_peers")
                return KeyView.show(request, peer, key)
        return self.render_to_response(self.get_context_data(form=form))


class PeerEditView(_ConfigPage):
    template_name = "hotline/admin/peer_form.html"
    page_title = gettext_lazy("修改12345对接")

    def get_object(self):
        return get_object_or_404(Peer, pk=self.kwargs["pk"])

    def get_context_data(self, form=None, **kwargs):
        peer = self.get_object()
        return {**super().get_context_data(**kwargs), "peer": peer,
                "form": form or PeerForm(instance=peer, editing=True)}

    def post(self, request, *args, **kwargs):
        peer = self.get_object()
        action = request.POST.get("action", "save")
        if action in ("enable", "disable"):
            services.set_enabled(request.user, peer, action == "enable")
            messages.success(request, _("已启用。") if action == "enable" else _("已停用：不再接收和发送消息。"))
            return redirect("jiyue_hotline_peer", pk=peer.pk)
        if action == "rotate":
            return KeyView.show(request, peer, services.rotate_key(request.user, peer))
        form = PeerForm(request.POST, instance=Peer.objects.get(pk=peer.pk), editing=True)
        if form.is_valid():
            values = form.values()
            values.pop("code", None)
            key = values.pop("key", "")
            try:
                with transaction.atomic():
                    services.update_peer(request.user, peer, **values)
                    if key:
                        services.set_key(request.user, peer, key)
            except ValidationError as exc:
                _apply(form, exc)
            else:
                messages.success(request, _("已保存：%(name)s") % {"name": peer.name}
                                 + (_("（已改用对方提供的共享密钥）") if key else ""))
                return redirect("jiyue_hotline_peers")
        return self.render_to_response(self.get_context_data(form=form))


def _apply(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class KeyView(_ConfigPage):
    """The shared key, shown once after creation or rotation (kept in the session between the
    POST and this page, then dropped)."""

    template_name = "hotline/admin/key.html"
    page_title = gettext_lazy("共享密钥")
    SESSION_KEY = "jiyue_hotline_key"

    @classmethod
    def show(cls, request, peer, key):
        request.session[cls.SESSION_KEY] = {"pk": peer.pk, "key": key}
        return redirect("jiyue_hotline_peer_key", pk=peer.pk)

    def get(self, request, *args, **kwargs):
        peer = get_object_or_404(Peer, pk=kwargs["pk"])
        shown = request.session.pop(self.SESSION_KEY, None)
        if not shown or shown.get("pk") != peer.pk:
            messages.warning(request, _("密钥只在新增或重置后显示一次；如已遗失，请重置密钥。"))
            return redirect("jiyue_hotline_peer", pk=peer.pk)
        response = self.render_to_response(self.get_context_data(peer=peer, key=shown["key"]))
        response["Cache-Control"] = "no-store"
        return response


DIRECTIONS = dict(Message.DIRECTIONS)
STATES = dict(Message.STATES)


class MessagesView(AdminPage):
    template_name = "hotline/admin/messages.html"
    page_title = gettext_lazy("12345交换记录")
    header_icon = "list-ul"

    def dispatch(self, request, *args, **kwargs):
        if not services.can_read_log(request.user):
            audit.record(request.user, None, None, "hotline.message.view", None, outcome="denied",
                         path=request.path[:200])
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        get = self.request.GET
        qs = Message.objects.select_related("peer")
        direction = get.get("direction", "") if get.get("direction", "") in DIRECTIONS else ""
        state = get.get("state", "") if get.get("state", "") in STATES else ""
        order_no = get.get("order_no", "").replace("\x00", "").strip()[:64]
        if direction:
            qs = qs.filter(direction=direction)
        if state:
            qs = qs.filter(state=state)
        if order_no:
            qs = qs.filter(order_no__icontains=order_no)
        counts = {row["state"]: row["n"] for row in
                  Message.objects.values("state").annotate(n=Count("id"))}
        page = paginate(self.request, qs.order_by("-created_at", "-id"))
        for m in page["page"]:
            m.kind_label = protocol.KIND_LABELS.get(m.kind, m.kind)
            m.can_retry = m.direction == Message.OUT and m.state in (Message.FAILED, Message.PENDING)
        return {**super().get_context_data(**kwargs), **page, "direction": direction, "state": state,
                "order_no": order_no, "directions": Message.DIRECTIONS, "states": Message.STATES,
                "counts": [(label, counts.get(value, 0)) for value, label in Message.STATES]}

    def post(self, request, *args, **kwargs):
        try:
            pk = int(request.POST.get("message", ""))
        except ValueError:
            pk = 0
        message = Message.objects.filter(pk=pk).select_related("peer").first()
        if message is None:
            messages.error(request, _("该消息不存在。"))
        else:
            try:
                services.retry(request.user, message)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, _("已重新排队发送：%(no)s") % {"no": message.order_no})
        return redirect(request.get_full_path())
