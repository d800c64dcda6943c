"""公众参与 in the admin menu: 意见征集, 问卷调查, 在线访谈 (views in admin_views.py)."""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.base import ViewSet, ViewSetGroup


class _MenuItem(MenuItem):
    def is_shown(self, request):
        from . import services

        return services.may_use_admin(request.user)


class KindViewSet(ViewSet):
    kind = "consultation"

    def __init__(self, kind, name, url_prefix, label, icon):
        self.kind = kind
        self.menu_label = label
        self.icon = icon
        super().__init__(name, url_prefix=url_prefix)

    @property
    def menu_item_class(self):
        return _MenuItem

    def get_urlpatterns(self):
        from .admin_views import DETAIL, EditView, ListView, SurveyExport

        patterns = [path("", ListView.as_view(kind=self.kind), name="index"),
                    path("new/", EditView.as_view(kind=self.kind), name="create"),
                    path("<int:pk>/", DETAIL[self.kind].as_view(), name="detail"),
                    path("<int:pk>/edit/", EditView.as_view(kind=self.kind), name="edit")]
        if self.kind == "survey":
            patterns.append(path("<int:pk>/export/", SurveyExport.as_view(), name="export"))
        return patterns


class ParticipationGroup(ViewSetGroup):
    menu_label = _("公众参与")
    menu_icon = "group"
    menu_order = 185
    items = (KindViewSet("consultation", "participation_consultations", "participation/consultations",
                         _("意见征集"), "doc-full"),
             KindViewSet("survey", "participation_surveys", "participation/surveys", _("问卷调查"),
                         "list-ol"),
             KindViewSet("interview", "participation_interviews", "participation/interviews",
                         _("在线访谈"), "user"))


@hooks.register("register_admin_viewset")
def register_participation():
    return ParticipationGroup()
