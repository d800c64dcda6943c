"""Benchmarks of the platform core (not tests): demo build, API list latency, 索引号 rate.

    .venv/bin/python bench/bench_core.py                    # SQLite in a fresh temporary JIYUE_HOME
    DATABASE_URL=postgres://... .venv/bin/python bench/bench_core.py

Results are recorded in docs/benchmarks.md.
"""

import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("JIYUE_HOME", tempfile.mkdtemp(prefix="jiyue-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiyue.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402


def timed(fn, n):
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main():
    print(f"database: {connection.vendor}")
    t = time.perf_counter()
    call_command("demo", verbosity=0)
    print(f"jiyue demo (41 sites, 508 resources, 210 accounts): {time.perf_counter() - t:.1f} s")

    from jiyue.library.models import Resource

    client = Client()
    for label, url, params in [
        ("GET /api/v1/resources (anonymous, page of 20)", "/api/v1/resources", {}),
        ("GET /api/v1/resources?site=<portal>", "/api/v1/resources", {"site": "3400000001"}),
        ("GET /api/v1/resources/<id>", f"/api/v1/resources/{Resource.objects.first().global_id}", {}),
        ("GET /api/v1/sites?page_size=50", "/api/v1/sites", {"page_size": 50}),
    ]:
        p50, p95 = timed(lambda: client.get(url, params), 200)
        print(f"{label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms (200 requests, in-process)")

    from jiyue.library.indexno import next_serial

    n = 1000
    t = time.perf_counter()
    for _ in range(n):
        next_serial("BENCH00001", "2026")
    print(f"索引号 serials: {n / (time.perf_counter() - t):.0f} per second (one process)")


if __name__ == "__main__":
    sys.exit(main())
