"""`jiyue publish` for real, in its own processes on a platform of its own: waiting sites are
published side by side in forked processes, and the result equals a full build."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.publishing_util import snapshot

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="runs once, with the embedded database (its own SQLite file); the PostgreSQL run "
           "covers the same code")

EDIT = """
from jiyue.core import outbox
from jiyue.library.models import Resource
from jiyue.platform.models import Site
done = set()
for r in Resource.objects.filter(live=True).order_by("pk"):
    if r.organisation_id in done:
        continue
    done.add(r.organisation_id)
    r = r.specific
    r.title = r.title + "（更新）"
    r.save_revision().publish()
    if len(done) == 6:
        break
site = Site.objects.order_by("code").last()
site.phone = "0551-65550000"
site.save()
outbox.dispatch("publisher")
"""


def test_parallel_publishing_equals_a_full_build(tmp_path):
    env = {**os.environ, "JIYUE_HOME": str(tmp_path), "JIYUE_TASKS": "db",
           "JIYUE_PUBLISH_PROCESSES": "2", "JIYUE_OUTBOX_LAG_SECONDS": "0"}
    env.pop("DATABASE_URL", None)
    jiyue = [sys.executable, "-m", "jiyue.cli"]

    def run(*args, **extra):
        return subprocess.run([*jiyue, *args], env={**env, **extra}, check=True, timeout=600,
                              capture_output=True, text=True)

    run("demo", "--city", "-v0")  # builds and publishes the city platform
    run("shell", "-c", EDIT)
    out = run("publish", "--no-progress").stdout
    assert out.count("增量") >= 6, out  # six organisations' sites and the changed site
    incremental = snapshot(tmp_path / "public")
    assert any("（更新）".encode() in data for data in incremental.values())
    run("publish", "--full", "--jobs", "2", "--no-progress",
        JIYUE_PUBLIC_ROOT=str(tmp_path / "full"))
    assert snapshot(tmp_path / "full") == incremental
