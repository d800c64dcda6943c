from django.db import models


class DemoObject(models.Model):
    """Which library object a demo key became, so that `jiyue demo` can run again safely."""

    key = models.CharField(max_length=100, unique=True)
    resource = models.OneToOneField("library.Resource", on_delete=models.CASCADE, related_name="+")
