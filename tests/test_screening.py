"""Screening (jiyue.screening): the sensitive-word matcher, the operator's list and its admin
screen and import, near-duplicate helpers; the routing classifier on real messages."""

from __future__ import annotations

import csv
import random
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from jiyue.audit.models import AuditEntry
from jiyue.screening import matcher, services
from jiyue.screening.matcher import Entry, Matcher
from jiyue.screening.models import ImportRun, SensitiveWord

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LEXICON = DATA / "lexicon"
LETTERS_DEV = DATA / "letters_dev" / "citizen_messages_sentiment_11529.csv"


@pytest.fixture(autouse=True)
def _fresh_matcher():
    matcher.invalidate()
    yield
    matcher.invalidate()


def test_matcher_finds_many_words_with_overlaps_and_normalisation():
    rng = random.Random(7)
    filler = [Entry("".join(rng.choice("甲乙丙丁戊己庚辛壬癸子丑寅卯") for _i in range(4)), "other", "review")
              for _n in range(5000)]
    m = Matcher([*filler, Entry("假冒", "illegal", "review"), Entry("假冒伪劣", "illegal", "block"),
                 Entry("伪劣产品", "illegal", "review"), Entry("代开发票", "illegal", "block"),
                 Entry("VIP群", "ad", "review")])
    text = "举报某店销售假冒伪劣产品，还有人代 开·发票，加ｖｉｐ 群。"
    hits = m.find(text)
    words = [h.word for h in hits]
    # overlapping hits are all reported, longest first at the same start
    assert words[:3] == ["假冒伪劣", "假冒", "伪劣产品"]
    # spaces, punctuation and full-width letters do not hide a word; spans are in the original text
    by_word = {h.word: h for h in hits}
    assert text[by_word["代开发票"].start:by_word["代开发票"].end] == "代 开·发票"
    assert text[by_word["VIP群"].start:by_word["VIP群"].end] == "ｖｉｐ 群"
    assert [h.word for h in m.find(text, longest=True)][:2] == ["假冒伪劣", "伪劣产品"]
    assert m.find("这是一封普通的咨询来信。") == []


def test_allow_list_words_suppress_hits_inside_them():
    m = Matcher([Entry("发票", "illegal", "review"), Entry("电子发票服务平台", "other", "allow")])
    assert m.find("请问电子发票服务平台怎么登录") == []
    assert [h.word for h in m.find("有人出售发票")] == ["发票"]


def test_find_uses_the_operators_list_and_follows_changes(db):
    w = SensitiveWord.objects.create(word="代开发票", category="illegal", level="block")
    hits = services.find("有人在小区门口代开发票")
    assert [(h.word, h.level) for h in hits] == [("代开发票", "block")]
    assert services.flagged(hits) == "block"
    w.enabled = False
    w.save()  # the signal invalidates this process's matcher
    assert services.find("有人在小区门口代开发票") == []


def test_similar_and_fingerprints_find_near_identical_texts(db):
    a = "我是幸福小区的住户，小区门口的路灯已经坏了两个月，晚上出行很不安全，请尽快维修。"
    b = "我是幸福小区的住户，小区门口的路灯已经坏了两个月了，晚上出行很不安全，请尽快维修！"
    c = "请问今年的高考报名时间是什么时候？需要准备哪些材料？"
    assert services.similar(a, b) > 0.85
    assert services.similar(a, c) < 0.1
    assert services.similar(a, a.replace("，", " ")) == 1.0
    assert services.hamming(services.simhash(a), services.simhash(b)) < 10
    assert services.hamming(services.simhash(a), services.simhash(c)) > 20
    from django.utils import timezone

    services.remember("test", [(1, a, timezone.now()), (2, c, timezone.now())])
    assert services.near("test", b) == [1]
    assert services.near("test", "关于小区停车位收费标准的咨询，请给予答复。") == []


def test_import_text_reports_each_bad_line_and_upserts(db):
    SensitiveWord.objects.create(word="赌博网站", category="other", level="review")
    text = "\n".join([
        "词语,分类,级别",          # header
        "代开发票,违法,禁止",
        "赌博网站,赌博,禁止",       # known: updated
        "毒品交易 1",              # "term tag" lists
        "网上刷单,火星,审核",       # bad category
        "！！！",                   # only punctuation
        "长" * 60,                  # too long
        "# a comment",
        "网上刷单,违法,马上",       # bad level
        "代开发票,违法,禁止",       # repeated
    ])
    report = services.import_text(text)
    assert (report.added, report.updated, report.unchanged) == (2, 1, 1)
    assert [n for n, _m in report.errors] == [5, 6, 7, 9]
    assert "火星" in report.errors[0][1] and "马上" in report.errors[3][1]
    assert SensitiveWord.objects.get(word="赌博网站").level == "block"
    assert SensitiveWord.objects.get(word="毒品交易").category == "drugs"
    assert [h.word for h in services.find("这里有代开发票")] == ["代开发票"]


@pytest.fixture
def operator_client(client, province):
    client.force_login(province.users["platform_operator"])
    return client


def test_admin_import_shows_progress_and_the_bad_line(operator_client, province, settings):
    settings.JIYUE_SCREENING_AUTOIMPORT = False
    upload = SimpleUploadedFile("words.csv", "代开发票,违法,禁止\n网上刷单\n坏行,不存在的分类\n".encode("utf-8"),
                                content_type="text/csv")
    r = operator_client.post("/admin/screening/import/", {"file": upload, "category": "other",
                                                          "level": "review"})
    run = ImportRun.objects.get()
    assert r.status_code == 302 and r["Location"].endswith(f"/admin/screening/import/{run.pk}/")
    page = operator_client.get(r["Location"]).content.decode()
    assert 'http-equiv="refresh"' in page  # still waiting: the page refreshes itself
    from jiyue.screening.tasks import run_import

    run_import(run.pk)
    page = operator_client.get(r["Location"]).content.decode()
    assert "第 3 行" in page and "不存在的分类" in page and 'http-equiv="refresh"' not in page
    assert set(SensitiveWord.objects.values_list("word", flat=True)) == {"代开发票", "网上刷单"}
    assert AuditEntry.objects.filter(action="screening.word.import").exists()
    # a file that is not text is refused with a message, nothing stored
    bad = SimpleUploadedFile("words.txt", b"\xff\xfe\x00\x00binary\x00", content_type="text/plain")
    r = operator_client.post("/admin/screening/import/", {"file": bad, "category": "other",
                                                          "level": "review"})
    assert r.status_code == 200 and "error-message" in r.content.decode()
    assert ImportRun.objects.count() == 1


def test_admin_add_edit_disable_and_try(operator_client, province):
    r = operator_client.post("/admin/screening/words/add/", {"word": " 代开 发票 ", "category": "illegal",
                                                             "level": "block", "enabled": "on"})
    assert r.status_code == 302
    w = SensitiveWord.objects.get()
    assert w.word == "代开发票"
    r = operator_client.post("/admin/screening/words/add/", {"word": "代开发票", "category": "illegal",
                                                             "level": "block", "enabled": "on"})
    assert "词表中已有" in r.content.decode()
    page = operator_client.get("/admin/screening/words/", {"try": "门口有人代开发票"}).content.decode()
    assert "代开发票" in page and "禁止" in page
    operator_client.post(f"/admin/screening/words/{w.pk}/", {"word": "代开发票", "category": "illegal",
                                                             "level": "block"})  # enabled unticked
    assert not SensitiveWord.objects.get().enabled
    assert services.find("门口有人代开发票") == []
    actions = set(AuditEntry.objects.filter(action__startswith="screening.word").values_list("action", flat=True))
    assert {"screening.word.add", "screening.word.disable"} <= actions


def _refused(r) -> bool:
    """403 from the view, or Wagtail's redirect to the dashboard for a PermissionDenied."""
    return r.status_code == 403 or (r.status_code == 302 and r["Location"] == "/admin/")


def test_only_the_platform_operator_manages_the_list(client, province):
    for name in ("czt_site_admin", "czt_dispatcher", "system_admin"):
        client.force_login(province.users[name])
        assert _refused(client.get("/admin/screening/words/"))
    assert AuditEntry.objects.filter(action="screening.admin.view", outcome="denied").count() == 3


def test_import_command(db, tmp_path):
    f = tmp_path / "words.txt"
    f.write_text("代开发票 4\n网上刷单\n坏行,不存在\n", encoding="gb18030")
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("screening", "import", str(f), "--level", "禁止", "--no-progress", stdout=out, stderr=err)
    assert "新增 2 个" in out.getvalue() and "第 3 行" in err.getvalue()
    assert set(SensitiveWord.objects.values_list("level", flat=True)) == {"block"}


@pytest.mark.skipif(not LEXICON.is_dir(), reason="../shared/data/lexicon not available")
def test_real_lexicon_builds_fast_and_respects_its_allow_list():
    tags = {}
    for line in (LEXICON / "sensitive_word_tags.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2:
            tags[parts[0]] = parts[1]
    words = [w.strip() for w in (LEXICON / "sensitive_word_dict.txt").read_text(encoding="utf-8").splitlines()
             if w.strip()]
    allow = [w.strip() for w in (LEXICON / "sensitive_word_allow.txt").read_text(encoding="utf-8").splitlines()
             if w.strip()]
    started = time.perf_counter()
    entries = {matcher.normalise(w): Entry(w, services.parse_category(tags.get(w, "")) or "other", "review")
               for w in words}
    entries.update({matcher.normalise(w): Entry(w, "other", "allow") for w in allow})
    m = Matcher(entries)
    assert m.size > 60000 and time.perf_counter() - started < 10
    # the allow-listed words are not hits, whatever deny words they contain
    for w in allow:
        assert m.find(w) == [], w
    text = "请问我们小区的路灯什么时候修？" * 20
    started = time.perf_counter()
    for _i in range(200):
        m.find(text)
    assert (time.perf_counter() - started) / 200 < 0.01  # well under 10 ms for 300 characters


@pytest.mark.skipif(not LETTERS_DEV.is_file(), reason="../shared/data/letters_dev not available")
def test_routing_classifier_suggests_the_right_domain_on_real_messages():
    """The nearest-neighbour vote of jiyue.letters.routing, trained on 80 % of the labelled
    messages, suggests the domain of the other 20 % (the figure is in docs/screening.md)."""
    from jiyue.letters.routing import NeighbourIndex, tokens

    rows = [(r["留言"], r["问题领域"]) for r in csv.DictReader(LETTERS_DEV.open(encoding="utf-8"))
            if r["问题领域"]]
    counts = {}
    for _t, d in rows:
        counts[d] = counts.get(d, 0) + 1
    rows = [(t, d) for t, d in rows if counts[d] >= 20]
    random.Random(1).shuffle(rows)
    cut = len(rows) * 4 // 5
    train, test = rows[:cut], rows[cut:]
    index = NeighbourIndex([tokens(t) for t, _d in train], [d for _t, d in train])
    right = 0
    for text, domain in test:
        votes = index.vote(tokens(text))
        if votes and max(votes, key=votes.get) == domain:
            right += 1
    accuracy = right / len(test)
    majority = max(counts.values()) / sum(counts[d] for d in counts if counts[d] >= 20)
    print(f"routing domain accuracy {accuracy:.3f} on {len(test)} messages (majority class {majority:.3f})")
    assert accuracy > majority + 0.15
