"""`/api/v1/disclosure`: the disclosure app's API (mounted in jiyue/api/api.py)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from ninja import Router

router = Router(tags=[gettext_lazy("依申请公开")])
