"""Letters benchmark (not a test): letters accepted per second through the API on PostgreSQL,
then a reconciliation of the receipts with the stored letters.

    .venv/bin/python bench/bench_letters.py                          # 5000 letters, 32 clients
    .venv/bin/python bench/bench_letters.py --letters 20000 --clients 64 --workers 2
    .venv/bin/python bench/bench_letters.py --database-url postgres://postgres@127.0.0.1:5432/jiyue_bench
    .venv/bin/python bench/bench_letters.py --with-worker             # the job worker runs too

What it does: (re)creates the PostgreSQL database, migrates it in a fresh temporary JIYUE_HOME,
creates one platform, organisation, site and a mailbox that accepts anonymous letters, starts
`jiyue serve --workers N --no-jobs` (granian; with --with-worker also `jiyue worker`, which runs
the outbox consumers — screening and routing — in the background), with the load client's
address in JIYUE_RATE_LIMIT_EXEMPT (the documented way to let a trusted client past the
`public_form` and `api` rate limits). Then C concurrent clients (threads in P client processes,
each with a keep-alive connection) POST /api/v1/letters with distinct titles. Every 201's
query code is a receipt. Reconciliation: every receipt's query code is stored exactly once,
every stored letter has a receipt (no letter without a receipt), and every letter has its
`letter.submitted` outbox event. The result is printed as JSON (letters/s, latency
percentiles, errors, the load average before and after).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PYTHON = sys.executable
SITE = "3400000001"

SETUP = r"""
import django
django.setup()
from jiyue.core.models import Platform
from jiyue.platform.models import Organisation
from jiyue.platform.services import create_site
from jiyue.letters.models import DeadlineRule, LetterType, Mailbox
from jiyue.security.fields import blind_index
from jiyue.platform.validators import credit_code_check_char, org_code_check_char
body = "00000001"
first17 = "11" + "340000" + body + org_code_check_char(body)
Platform.objects.create(code="ah", name="安徽省政府网站集约化平台", level="province", region_code="340000")
org = Organisation.add_root(name="安徽省人民政府", short_name="皖政", code=first17 + credit_code_check_char(first17),
                            kind="government", region_code="340000", key="portal")
site = create_site(organisation=org, name="安徽省人民政府", level="province", kind="portal",
                   domain="www.ah.gov.cn", code="%s", sponsor="安徽省人民政府",
                   operator="安徽省数据资源管理局", state="running")
for t in LetterType.values:
    DeadlineRule.objects.get_or_create(type=t, defaults={"reply_days": 5})
box = Mailbox.objects.create(organisation=org, site=site, kind=Mailbox.LEADER, name="省长信箱",
                             allow_anonymous=True)
blind_index("phone", "13800138000")  # the key ring exists before the workers fork
print(box.pk)
""" % SITE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def app_env(home: Path, url: str) -> dict:
    env = {**os.environ, "JIYUE_HOME": str(home), "JIYUE_PUBLIC_ROOT": str(home / "public"),
           "DJANGO_SETTINGS_MODULE": "jiyue.settings", "DATABASE_URL": url, "JIYUE_TASKS": "db",
           "JIYUE_RATE_LIMIT_EXEMPT": "127.0.0.1,::1", "JIYUE_DB_CONN_MAX_AGE": "600",
           "JIYUE_SECRET_KEY": "bench-letters-" + "x" * 40, "PYTHONPATH": str(REPO)}
    env.setdefault("JIYUE_LOG_LEVEL", "ERROR")
    env.pop("REDIS_URL", None)
    return env


def prepare(home: Path, env: dict) -> int:
    t = time.perf_counter()
    subprocess.run([PYTHON, "-m", "jiyue.cli", "migrate", "-v0"], env=env, cwd=home, check=True,
                   stdout=subprocess.DEVNULL)
    print(f"  migrate: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    out = subprocess.run([PYTHON, "-c", SETUP], env=env, cwd=home, check=True,
                         capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1])


def wait_ready(port: int, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", f"/api/v1/letters/mailboxes?site={SITE}")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not start")


# --- the load client ----------------------------------------------------------------------------

def _client_thread(port, mailbox, first, count, results, lock):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    local = []
    for i in range(first, first + count):
        body = json.dumps({"mailbox": mailbox, "type": "consult", "title": f"压力测试来信第{i}号",
                           "content": f"这是第{i}封压力测试来信，请问惠民补贴什么时候发放？",
                           "name": "测试", "phone": "13800138000", "anonymous": True,
                           "consent_publish": False}, ensure_ascii=False).encode()
        t = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/letters", body,
                         {"Content-Type": "application/json", "Host": "127.0.0.1"})
            resp = conn.getresponse()
            data = resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            local.append((i, 0, None, time.perf_counter() - t, repr(exc)))
            continue
        elapsed = time.perf_counter() - t
        code = json.loads(data).get("query_code") if status == 201 else None
        local.append((i, status, code, elapsed, "" if status == 201 else data[:200].decode("utf-8", "replace")))
    conn.close()
    with lock:
        results.extend(local)


def _client_process(port, mailbox, first, count, threads, out_path, start_at):
    results, lock = [], threading.Lock()
    per = [count // threads + (1 if k < count % threads else 0) for k in range(threads)]
    starts = [first + sum(per[:k]) for k in range(threads)]
    while time.time() < start_at:
        time.sleep(0.005)
    ts = [threading.Thread(target=_client_thread, args=(port, mailbox, s, n, results, lock))
          for s, n in zip(starts, per) if n]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    Path(out_path).write_text(json.dumps(results))


def load(port: int, mailbox: int, letters: int, clients: int, processes: int, work: Path) -> dict:
    per_proc = [clients // processes + (1 if k < clients % processes else 0) for k in range(processes)]
    counts = [letters * c // clients for c in per_proc]
    counts[-1] += letters - sum(counts)
    start_at = time.time() + 1.0
    procs, outs, first = [], [], 0
    for k in range(processes):
        out = work / f"client-{k}.json"
        outs.append(out)
        p = mp.Process(target=_client_process,
                       args=(port, mailbox, first, counts[k], per_proc[k], str(out), start_at))
        first += counts[k]
        p.start()
        procs.append(p)
    for p in procs:
        p.join()
    wall = time.time() - start_at
    rows = [tuple(r) for out in outs for r in json.loads(out.read_text())]
    return {"rows": rows, "wall": wall}


def reconcile(env: dict, home: Path, codes: list[str]) -> dict:
    script = r"""
import django, json, sys
django.setup()
from django.db.models import Count
from jiyue.letters.models import Letter
from jiyue.core.models import Event
codes = json.load(sys.stdin)
stored = list(Letter.objects.values_list("query_code", flat=True))
dup_stored = Letter.objects.values("query_code").annotate(n=Count("id")).filter(n__gt=1).count()
events = Event.objects.filter(topic="letter.submitted").count()
ids = set(Letter.objects.values_list("pk", flat=True))
event_ids = set(int(x) for x in Event.objects.filter(topic="letter.submitted").values_list("aggregate_id", flat=True))
receipts = set(codes)
print(json.dumps({
    "receipts": len(codes), "distinct_receipts": len(receipts), "stored": len(stored),
    "stored_distinct": len(set(stored)), "duplicated_in_db": dup_stored,
    "receipts_not_stored": len(receipts - set(stored)),
    "stored_without_receipt": len(set(stored) - receipts),
    "letters_without_event": len(ids - event_ids), "submitted_events": events,
}))
"""
    out = subprocess.run([PYTHON, "-c", script], env=env, cwd=home, check=True,
                         input=json.dumps(codes), capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="HTTP worker processes of jiyue serve")
    parser.add_argument("--threads", type=int, default=8, help="request threads per HTTP worker")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--with-worker", action="store_true", help="also run `jiyue worker`")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jiyue_h1_bench"))
    parser.add_argument("--json", help="write the result here too")
    parser.add_argument("--keep", action="store_true", help="keep the temporary JIYUE_HOME")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="jiyue-bench-letters-"))
    home = work / "home"
    home.mkdir()
    env = app_env(home, args.database_url)
    print(f"preparing {args.database_url} in {home}", file=sys.stderr)
    recreate_database(args.database_url)
    mailbox = prepare(home, env)
    port = free_port()
    server = subprocess.Popen(
        [PYTHON, "-m", "jiyue.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(args.workers), "--threads", str(args.threads), "--no-jobs"],
        env=env, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    worker = None
    if args.with_worker:
        worker = subprocess.Popen([PYTHON, "-m", "jiyue.cli", "worker"], env=env, cwd=home,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
    try:
        wait_ready(port)
        if args.warmup:
            warm = load(port, mailbox, args.warmup, min(args.clients, 8), 1, work)
            warm_codes = [r[2] for r in warm["rows"] if r[1] == 201]
        else:
            warm_codes = []
        before = loadavg()
        result = load(port, mailbox, args.letters, args.clients, args.client_processes, work)
        after = loadavg()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        if worker is not None:
            os.killpg(worker.pid, 15)
            worker.wait(timeout=30)
    rows = result["rows"]
    ok = [r for r in rows if r[1] == 201]
    latencies = sorted(r[3] for r in ok)

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1) if latencies else None

    errors: dict[str, int] = {}
    for r in rows:
        if r[1] != 201:
            key = f"{r[1]} {r[4][:80]}"
            errors[key] = errors.get(key, 0) + 1
    codes = warm_codes + [r[2] for r in ok]
    summary = {
        "letters": args.letters, "clients": args.clients, "http_workers": args.workers, "threads": args.threads,
        "with_worker": args.with_worker, "cpus": os.cpu_count(),
        "accepted": len(ok), "failed": len(rows) - len(ok), "errors": errors,
        "seconds": round(result["wall"], 2),
        "letters_per_second": round(len(ok) / result["wall"], 1) if result["wall"] else None,
        "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)},
        "loadavg_before": before, "loadavg_after": after,
        "reconciliation": reconcile(env, home, codes),
    }
    rec = summary["reconciliation"]
    summary["reconciled"] = (rec["receipts_not_stored"] == 0 and rec["stored_without_receipt"] == 0
                             and rec["duplicated_in_db"] == 0 and rec["letters_without_event"] == 0
                             and rec["distinct_receipts"] == rec["receipts"])
    text = json.dumps(summary, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if summary["reconciled"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
