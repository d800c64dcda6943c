"""Node-local work: every `jiyue worker` process follows the outbox into its node's replica."""

from django.conf import settings

from jiyue.core import worker


def _sync():
    from .replica import sync

    sync(background=True)


worker.register_local("search-replica", _sync, lambda: settings.JIYUE_SEARCH_SYNC_SECONDS)
