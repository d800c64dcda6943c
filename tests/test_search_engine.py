"""The search engine core: segmentation, the index following publishing, filters and facets,
文号/索引号 lookup, attachments, bad input, rebuilds, the 搜索索引 screen and `jiyue search`."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone as dt_timezone

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse

from jiyue.search import engine, replica, segment
from tests.conftest import store

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_outbox_lag(settings):
    """The test's events are committed with it (on PostgreSQL the outbox reads only events
    older than the lag, 5 s by default)."""
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0


def find(text, **kw) -> list[int]:
    filters = kw.pop("filters", None) or engine.Filters()
    res = engine.execute(engine.EngineQuery(engine.clauses_for(text), filters=filters, **kw))
    return [h.resource_id for h in res.hits]


def article(province, org="czt", title="标题", body="<p>正文</p>", place=("bmdt",), publish=True,
            **extra):
    from jiyue.library.models import Article

    a = Article(organisation=province.orgs[org], title=title, body=body, live=False, **extra)
    return store(a, *(province.column(org, slug) for slug in place), publish=publish, clean=True)


# --- segmentation ------------------------------------------------------------------------------

def test_segmentation_keeps_government_words_and_is_the_same_at_index_and_query_time(db):
    seg = segment.segmenter()
    for word in ("营商环境", "一网通办", "皖事通", "不动产登记", "最低生活保障", "一件事一次办", "跨省通办"):
        assert seg.query_words(word) == [word], word
        assert word in seg.index_text(f"关于推进{word}工作的通知").split(), word
    # a longer word is found by the dictionary words inside it
    tokens = seg.index_text("持续优化营商环境，拨打12345热线").split()
    assert {"营商环境", "优化营商环境", "12345"} <= set(tokens)
    # normalised: full width, case, punctuation, control characters; stop words left out
    assert seg.query_words("ＡＢＣ１２３，\x00如何办理居住证？") == ["abc123", "办理", "居住证"]
    assert seg.query_words("！！！……") == []


def test_an_operator_word_becomes_one_word_and_its_documents_are_reindexed(province):
    from jiyue.core.models import Event
    from jiyue.search.models import DictionaryTerm

    word = "数智皖税"
    assert segment.segmenter().query_words(word) != [word]  # jieba does not know it
    a = article(province, title=f"关于推广{word}应用的通知", body="<p>全省推广。</p>")
    replica.sync()
    DictionaryTerm.objects.create(word=word)
    assert Event.objects.filter(topic="search.dictionary").last().payload["word"] == word
    assert segment.segmenter().query_words(word) == [word]  # this process reloads at once
    assert find(word) == []  # the document was segmented with the old dictionary
    report = replica.sync()
    assert report.indexed >= 1
    assert find(word) == [a.pk]


# --- following publishing ----------------------------------------------------------------------

def test_publish_place_withdraw_delete_follow_the_library(province, make_policy):
    from jiyue.library import services
    from jiyue.library.models import Placement

    czt, jyt = province.sites["czt"].code, province.sites["jyt"].code
    draft = article(province, title="财政支持乡村振兴专项资金管理办法", publish=False)
    doc = make_policy(title="关于做好乡村振兴资金绩效评价工作的通知", publish=True)
    report = replica.sync()
    assert engine.search_ready() and report.rebuilt
    assert find("乡村振兴") == [doc.pk]  # the draft is not in the index
    hit = engine.execute(engine.EngineQuery(engine.clauses_for("乡村振兴"))).hits[0]
    assert hit.fields["sites"] == [czt] and hit.fields["home_site"] == czt
    assert hit.title_html == "关于做好<em>乡村振兴</em>资金绩效评价工作的通知"

    draft.save_revision().publish()
    replica.sync()
    assert sorted(find("乡村振兴")) == sorted([doc.pk, draft.pk])

    # placed on a second site: that site's filter finds it
    p2 = services.attach(doc, province.column("jyt", "zcwj"))
    replica.sync()
    assert find("乡村振兴", filters=engine.Filters(sites=[jyt])) == [doc.pk]
    assert find("乡村振兴", filters=engine.Filters(home_sites=[jyt])) == []
    services.withdraw_placement(province.users["jyt_site_admin"], p2)
    replica.sync()
    assert find("乡村振兴", filters=engine.Filters(sites=[jyt])) == []

    # every placement withdrawn: gone although still published
    for p in Placement.objects.filter(resource=draft):
        services.withdraw_placement(province.users["czt_site_admin"], p)
    replica.sync()
    assert find("乡村振兴") == [doc.pk]

    # the resource withdrawn, then deleted
    services.withdraw_resource(province.users["czt_publisher"], doc)
    replica.sync()
    assert find("乡村振兴") == []
    doc.refresh_from_db()
    doc.save_revision().publish()
    replica.sync()
    assert find("乡村振兴") == [doc.pk]
    services.delete_resource(province.users["czt_site_admin"], doc, confirm=True)
    replica.sync()
    assert find("乡村振兴") == [] and engine.document_count() == 0


def test_filters_facets_sorting_and_paging(province, make_policy):
    from jiyue.library.models import Classification, Resource

    topic = Classification.objects.filter(scheme="topic").first()
    docs = [make_policy(title=f"教育经费保障政策第{i}号", doc_number=f"皖财〔2026〕{i + 1}号",
                        publish=True, topic=topic if i < 2 else None) for i in range(3)]
    art = article(province, org="jyt", title="教育经费使用情况通报", place=("bmdt",))
    link_like = article(province, org="jyt", title="其他工作动态", place=("bmdt",))
    years = {docs[0].pk: 2023, docs[1].pk: 2024, docs[2].pk: 2025, art.pk: 2025}
    for pk, year in years.items():
        Resource.objects.filter(pk=pk).update(published_at=datetime(year, 6, 1, 8, tzinfo=dt_timezone.utc))
    replica.sync()

    res = engine.execute(engine.EngineQuery(engine.clauses_for("教育经费")))
    assert res.total == 4 and link_like.pk not in [h.resource_id for h in res.hits]
    czt, jyt = province.sites["czt"].code, province.sites["jyt"].code
    assert res.facets["site"] == {czt: 3, jyt: 1}
    assert res.facets["kind"] == {"policy": 3, "article": 1}
    assert res.facets["year"] == {"2023": 1, "2024": 1, "2025": 2}
    assert res.facets["topic"] == {str(topic.pk): 2}
    assert res.facets["organisation"] == {str(province.orgs["czt"].pk): 3,
                                          str(province.orgs["jyt"].pk): 1}

    assert res.facets_exact
    # very large results: facets estimated from a sample, the total stays exact
    engine.FACET_EXACT_UP_TO, saved = 1, engine.FACET_EXACT_UP_TO
    try:
        big = engine.execute(engine.EngineQuery(engine.clauses_for("教育经费")))
    finally:
        engine.FACET_EXACT_UP_TO = saved
    assert big.total == 4 and not big.facets_exact
    assert set(big.facets) == set(res.facets)

    by_date = engine.execute(engine.EngineQuery(engine.clauses_for("教育经费"), sort="date"))
    assert [h.resource_id for h in by_date.hits][:2] in ([docs[2].pk, art.pk], [art.pk, docs[2].pk])
    assert by_date.hits[-1].resource_id == docs[0].pk
    assert by_date.hits[-1].fields["published_at"].year == 2023

    page2 = engine.execute(engine.EngineQuery(engine.clauses_for("教育经费"), sort="date",
                                              offset=2, limit=2))
    assert [h.resource_id for h in page2.hits] == [h.resource_id for h in by_date.hits[2:]]
    assert page2.total == 4

    assert find("教育经费", filters=engine.Filters(kinds=["article"])) == [art.pk]
    assert sorted(find("教育经费", filters=engine.Filters(exclude_kinds=["article"]))) == \
        sorted(d.pk for d in docs)
    assert find("教育经费", filters=engine.Filters(years=[2023])) == [docs[0].pk]
    assert sorted(find("教育经费", filters=engine.Filters(topics=[topic.pk]))) == \
        sorted([docs[0].pk, docs[1].pk])
    assert find("教育经费", filters=engine.Filters(organisations=[province.orgs["jyt"].pk])) == [art.pk]
    filtered = engine.execute(engine.EngineQuery(engine.clauses_for("教育经费"),
                                                 filters=engine.Filters(sites=[jyt])))
    assert filtered.total == 1 and filtered.facets["site"] == {jyt: 1}

    # AND of the words by default; OR ranks documents with more of them first
    assert find("教育经费 通报") == [art.pk]
    assert find("教育经费 通报", require_all=False)[0] == art.pk
    assert len(find("教育经费 通报", require_all=False)) == 4
    # no words: nothing, unless every document is asked for
    assert engine.execute(engine.EngineQuery([])).total == 0
    assert engine.execute(engine.EngineQuery([], match_all=True)).total == 5

    # a snippet is cut around the words, escaped, with the words marked
    snippet = engine.snippet("开头的文字。" * 30 + "这里说明<教育经费>的安排。" + "结尾" * 50,
                             ["教育经费"])
    assert snippet.startswith("…这里说明&lt;<em>教育经费</em>&gt;的安排")


def test_exact_doc_number_and_index_number_lookup(province, make_policy):
    doc = make_policy(title="关于印发预算管理办法的通知", doc_number="皖财〔2026〕49号", publish=True)
    other = make_policy(title="另一份文件", doc_number="皖财〔2026〕50号", publish=True)
    replica.sync()
    for variant in ("皖财〔2026〕49号", "皖财[2026]49号", "皖财（2026）49号", " 皖财 (2026) 第49号 ",
                    "皖财［２０２６］４９号", "皖财【2026】049号"):
        assert [h.resource_id for h in engine.lookup_number(variant)] == [doc.pk], variant
    doc.refresh_from_db()
    assert doc.index_number
    hits = engine.lookup_number(doc.index_number.lower())
    assert [h.resource_id for h in hits] == [doc.pk]
    assert hits[0].fields["doc_number"] == "皖财〔2026〕49号"
    assert engine.lookup_number("皖财〔2026〕51号") == [] and engine.lookup_number("") == []
    assert other.pk not in [h.resource_id for h in engine.lookup_number("皖财〔2026〕49号")]
    # the 文号 is also searchable as words
    assert doc.pk in find("皖财 2026 49号")


# --- attachments -------------------------------------------------------------------------------

def _pdf(text: str) -> bytes:
    """A one-page PDF showing `text` (CJK through a Type0 font with a ToUnicode map)."""
    codes = {ch: i + 1 for i, ch in enumerate(dict.fromkeys(text))}
    shown = "".join(f"{codes[ch]:04X}" for ch in text)
    content = f"BT /F1 12 Tf 72 712 Td <{shown}> Tj ET".encode()
    cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap "
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def "
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def "
            "1 begincodespacerange <0000> <FFFF> endcodespacerange "
            f"{len(codes)} beginbfchar "
            + " ".join(f"<{c:04X}> <{ord(ch):04X}>" for ch, c in codes.items())
            + " endbfchar endcmap CMapName currentdict /CMapResource defineresource pop end end").encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 8 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 4 /FontBBox [0 0 1000 1000] /ItalicAngle 0 /Ascent 1000 /Descent 0 /CapHeight 1000 /StemV 80 >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _docx(text: str) -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("附件说明")
    d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_pdf_and_docx_attachment_text_is_found_and_a_broken_file_is_harmless(province, settings,
                                                                             tmp_path):
    from wagtail.documents import get_document_model

    from jiyue.library.models import FileResource
    from jiyue.search.models import AttachmentText

    settings.MEDIA_ROOT = str(tmp_path / "media")
    Document = get_document_model()
    pdf = Document.objects.create(title="申报表", file=ContentFile(_pdf("高校毕业生见习补贴申报须知"), name="a.pdf"))
    docx_doc = Document.objects.create(title="说明", file=ContentFile(_docx("农机购置补贴资金兑付流程"), name="b.docx"))
    broken = Document.objects.create(title="坏文件", file=ContentFile(b"%PDF-1.4 \x00\x01 broken", name="c.pdf"))
    column = province.column("czt", "wjxz")
    f1 = store(FileResource(organisation=province.orgs["czt"], title="申报表下载", document=pdf,
                            live=False), column)
    f2 = store(FileResource(organisation=province.orgs["czt"], title="表格三", document=broken,
                            live=False), column)
    # a DOCX linked from an article's rich text
    art = article(province, title="关于补贴发放的通知",
                  body=f'<p>详见<a linktype="document" id="{docx_doc.pk}">说明</a>。</p>')
    replica.sync()
    assert find("见习补贴") == [f1.pk]
    assert find("农机购置补贴") == [art.pk]
    assert find("表格三") == [f2.pk]  # indexed without its text
    assert AttachmentText.objects.exclude(error="").count() == 1
    hit = engine.execute(engine.EngineQuery(engine.clauses_for("见习补贴"))).hits[0]
    assert "<em>见习补贴</em>" in hit.snippet_html
    # extracted once: the same file again reads the cache
    assert AttachmentText.objects.count() == 3
    replica.sync()
    assert AttachmentText.objects.count() == 3


# --- bad input ---------------------------------------------------------------------------------

def test_bad_queries_never_raise(province, make_policy):
    doc = make_policy(title="关于征集营商环境意见的公告", publish=True)
    replica.sync()
    nasty = ["", " ", "\x00\x01\x02", "！！！？？？", "*", "title:营商 OR body:*", '"营商',
             "营商 AND (环境 OR", "a" * 10_000, "营" * 10_000, "<script>alert(1)</script>营商",
             "\ud800", "😀" * 100, "营商\u202e环境", "' OR 1=1 --", "regex:.*", "营商~2^100",
             " ".join(f"词{i}" for i in range(500))]
    for text in nasty:
        res = engine.execute(engine.EngineQuery(engine.clauses_for(text)))
        assert res.total >= 0
        engine.lookup_number(text)
    assert "<script>" not in "".join(
        h.title_html + h.snippet_html for h in engine.execute(engine.EngineQuery(
            engine.clauses_for("<script>alert(1)</script>营商"), require_all=False)).hits)
    assert len(engine.clauses_for(" ".join(f"词语{i}" for i in range(100)))) <= engine.MAX_CLAUSES
    odd = engine.EngineQuery(
        [engine.Clause([["营商"], [], [""], ["a" * 500], [None, 3], "营商", ["营商"] * 50], boost=1e9),
         engine.Clause([]), engine.Clause([["营"] * 100], boost="x")],
        filters=engine.Filters(sites=["", "x" * 1000], organisations=["x", -1, 2**70],
                               years=["abc"]),
        offset=-5, limit=10**9, sort="nonsense", facets=("nope", "site"))
    assert engine.execute(odd).total == 0  # the year filter cannot match anything
    odd.filters = engine.Filters(sites=["", province.sites["czt"].code], organisations=["x", 2**70])
    assert engine.execute(odd).total == 0
    odd.filters = engine.Filters(organisations=[str(province.orgs["czt"].pk)])
    odd.clauses = odd.clauses[:1]
    assert [h.resource_id for h in engine.execute(odd).hits] == [doc.pk]


def test_no_index_yet_means_empty_results_not_errors(db):
    assert not engine.search_ready()
    assert engine.execute(engine.EngineQuery(engine.clauses_for("营商环境"))).total == 0
    assert engine.lookup_number("皖财〔2026〕1号") == []


# --- replicas: cursor, crashes, rebuilds, the writer lock -----------------------------------------

def test_replaying_events_is_idempotent_and_a_rebuild_swaps_generations(province, make_policy):
    from jiyue.core.models import Event

    doc = make_policy(title="住房公积金提取办法", publish=True)
    replica.sync()
    gen = engine.current_generation()
    cursor = engine.read_cursor(gen)
    # a crash after the commit but before the cursor was written: the events come again
    engine.write_cursor(gen, {**cursor, "last_event_id": 0})
    report = replica.sync()
    assert report.events == Event.objects.count()
    assert find("住房公积金") == [doc.pk] and engine.document_count() == 1

    replica.request_rebuild()
    report = replica.sync()
    assert report.rebuilt and engine.current_generation() != gen
    assert find("住房公积金") == [doc.pk]
    assert not replica.sync().rebuilt  # the request is carried out once
    from jiyue.search.models import Replica

    row = Replica.objects.get(node=replica.node())
    assert row.state == "ok" and row.documents == 1 and row.last_event_id == Event.objects.last().pk


def test_a_second_writer_is_refused_with_a_clear_message(province, make_policy):
    make_policy(title="社会保险费缴费基数", publish=True)
    replica.sync()
    replica.close_writer()
    other = engine.open_index(engine.current_generation()).writer(15_000_000, 1)  # "another process"
    try:
        with pytest.raises(replica.IndexBusy, match="另一个进程"):
            replica.sync(raise_busy=True)
        assert replica.sync().busy
        out = io.StringIO()
        with pytest.raises(Exception, match="另一个进程"):
            call_command("search", "sync", stdout=out)
    finally:
        del other
    assert not replica.sync().busy


def test_commands_status_sync_rebuild_and_query(province, make_policy):
    doc = make_policy(title="最低生活保障审核确认办法", publish=True)
    out = io.StringIO()
    call_command("search", "rebuild", "--no-progress", stdout=out)
    assert "1 条文档" in out.getvalue()
    out = io.StringIO()
    call_command("search", "sync", stdout=out)
    assert "索引共 1 条文档" in out.getvalue()
    out = io.StringIO()
    call_command("search", "status", stdout=out)
    assert replica.node() in out.getvalue() and "积压 0" in out.getvalue()
    out = io.StringIO()
    call_command("search", "query", "最低生活保障", "--json", stdout=out)
    assert json.loads(out.getvalue())["hits"][0]["id"] == doc.pk


# --- the 搜索索引 screen -------------------------------------------------------------------------

def test_index_screen_for_the_operator_only_and_rebuild_is_audited(province, client, make_policy):
    from jiyue.audit.models import AuditEntry
    from jiyue.core.models import Event

    make_policy(title="政务服务事项清单", publish=True)
    replica.sync()
    url = reverse("jiyue_search_index")
    client.force_login(province.users["czt_site_admin"])
    for r in (client.get(url), client.post(url)):  # Wagtail turns the 403 into a redirect home
        assert r.status_code == 403 or (r.status_code == 302 and r["Location"] == "/admin/")
    assert AuditEntry.objects.filter(action="search.index.view", outcome="denied").count() == 2
    assert not Event.objects.filter(topic="search.rebuild").exists()

    for name in ("platform_operator", "system_admin"):
        client.force_login(province.users[name])
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert replica.node() in html and "全量重建" in html
    response = client.post(url)
    assert response.status_code == 302
    assert Event.objects.filter(topic="search.rebuild").count() == 1
    assert AuditEntry.objects.filter(action="search.rebuild", outcome="success").count() == 1
    assert replica.sync().rebuilt


def test_expansions_count_less_than_the_word_typed(province):
    """A synonym found through expansion ranks below the word the citizen typed, and with equal
    weights the two are found alike."""
    typed = article(province, title="社保卡申领须知", body="<p>办理说明。</p>")
    synonym = article(province, title="社会保险卡申领须知", body="<p>办理说明。</p>")
    replica.sync()
    both = [segment.segmenter().tokens("社保"), segment.segmenter().tokens("社会保险")]

    def ranked(weights):
        clause = engine.Clause(both, alt_boosts=weights)
        res = engine.execute(engine.EngineQuery([clause]))
        return [(h.resource_id, h.score) for h in res.hits]

    weighted = ranked([1.0, 0.3])
    assert [rid for rid, _ in weighted] == [typed.pk, synonym.pk]
    assert weighted[0][1] > weighted[1][1]
    reversed_weights = ranked([0.3, 1.0])
    assert [rid for rid, _ in reversed_weights] == [synonym.pk, typed.pk]


def test_a_title_match_ranks_first_and_every_page_holds_other_matches(province, settings, monkeypatch):
    """Matching runs on all of a document's words; the best matches are then ordered by the full
    score, where the title counts four times: a resource named after the words comes before one
    that only mentions them often. Past the re-ranked window the pages go on with the rest, each
    match exactly once."""
    named = article(province, title="公积金提取指南", body="<p>办理说明。</p>")
    mentions = article(province, title="年度工作总结",
                       body="<p>" + "公积金提取业务量增长，公积金提取窗口延时服务。" * 3 + "</p>")
    others = [article(province, title=f"通知第{i}号", body=f"<p>关于公积金提取的第{i}号通知。</p>")
              for i in range(4)]
    unrelated = article(province, title="道路养护", body="<p>城市道路养护。</p>")
    replica.sync()
    res = engine.execute(engine.EngineQuery(engine.clauses_for("公积金提取"), limit=10))
    ids = [h.resource_id for h in res.hits]
    assert res.total == 6 and unrelated.pk not in ids
    assert ids[0] == named.pk and res.hits[0].score > res.hits[1].score
    assert set(ids) == {named.pk, mentions.pk, *(o.pk for o in others)}
    # a window of 4: pages of 2 within it are re-ranked, the third page is the rest
    monkeypatch.setattr(engine, "RERANK_WINDOW", 4)
    pages = [find("公积金提取", offset=o, limit=2) for o in (0, 2, 4)]
    assert pages[0][0] == named.pk
    assert sorted(sum(pages, [])) == sorted(ids)


def test_an_index_of_an_older_schema_is_not_used_until_rebuilt(province, make_policy):
    """After an upgrade that changes the index layout, the node searches the database (titles)
    instead of returning nothing from the old index, and the next sync rebuilds it."""
    from jiyue.search import services

    doc = make_policy(title="住房公积金提取办法", publish=True)
    replica.sync()
    gen = engine.current_generation()
    engine.write_cursor(gen, {**engine.read_cursor(gen), "schema": engine.SCHEMA_VERSION - 1})
    engine.invalidate_readers()
    assert not engine.search_ready()
    result = services.search("住房公积金提取", record=False)
    assert result.degraded and [h.resource_id for h in result.hits] == [doc.pk]
    assert replica.sync().rebuilt and engine.current_generation() != gen
    engine.invalidate_readers()
    assert engine.search_ready() and find("住房公积金") == [doc.pk]


def test_a_full_build_segments_in_several_processes_with_the_operators_words(province, monkeypatch):
    """A large library is segmented in a pool of processes (one per core); each uses the same
    dictionary as this process, the operator's words included, so the index is the same."""
    from jiyue.search.models import DictionaryTerm

    word = "数智皖税"
    DictionaryTerm.objects.create(word=word)
    docs = [article(province, title=f"关于推广{word}应用的通知（第{i}批）", body="<p>全省推广。</p>")
            for i in range(3)]
    other = article(province, title="住房公积金提取办法", body="<p>提取条件。</p>")
    replica.sync()
    monkeypatch.setattr(replica, "PARALLEL_FROM", 0)
    monkeypatch.setenv("JIYUE_SEARCH_BUILD_PROCESSES", "2")
    assert replica.build_processes() == 2
    gen = replica.build()
    engine.invalidate_readers()
    assert engine.current_generation() == gen and engine.document_count() == 4
    assert sorted(find(word)) == sorted(d.pk for d in docs)
    assert find("住房公积金") == [other.pk]
