"""For the serving benchmark only: Wagtail's own dynamic serving of a jiyue article page.

`BenchArticlePage` is an ordinary Wagtail page in a site's tree. A request for it takes
Wagtail's whole path (site lookup, page routing, `serve`), and the page renders the same
article template, with the same context, that the publisher writes to a file.
"""

from django.db import models
from django.http import HttpResponse
from wagtail.models import Page


class BenchArticlePage(Page):
    resource = models.ForeignKey("library.Resource", on_delete=models.PROTECT, related_name="+")

    def serve(self, request, *args, **kwargs):
        from jiyue.platform.models import Site
        from jiyue.publishing.pages import Renderer, SiteContext

        site = Site.objects.select_related("home").get(home_id=self.get_parent().pk)
        return HttpResponse(Renderer(SiteContext(site)).detail(self.resource_id).text)
