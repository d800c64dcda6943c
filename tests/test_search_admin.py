"""站内搜索 in the admin: 政务词典, 同义词, 搜索统计 — who may see and change them, what a
change does, and that every change is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from jiyue.audit.models import AuditEntry
from jiyue.search.models import DictionaryTerm, QueryStat, SynonymGroup


def login(client, province, name):
    client.force_login(province.users[name])
    return client


def refused(r) -> bool:
    """403 from the view, or Wagtail's redirect to the dashboard for a PermissionDenied."""
    return r.status_code == 403 or (r.status_code == 302 and r["Location"] == "/admin/")


def test_department_staff_cannot_open_or_change_anything(province, client):
    login(client, province, "czt_site_admin")
    for name in ("jiyue_search_dictionary", "jiyue_search_synonyms", "jiyue_search_stats",
                 "jiyue_search_dictionary_add", "jiyue_search_synonym_add"):
        assert refused(client.get(reverse(name))), name
    r = client.post(reverse("jiyue_search_dictionary_add"), {"word": "越权词语"})
    assert refused(r) and not DictionaryTerm.objects.exists()
    denied = AuditEntry.objects.filter(action="search.admin.view", outcome="denied")
    assert denied.count() == 6
    # nor does the menu show them
    html = client.get("/admin/").content.decode()
    assert "/admin/search/dictionary/" not in html and "/admin/search/stats/" not in html


def test_operator_manages_the_dictionary_with_feedback_and_audit(province, client):
    login(client, province, "platform_operator")
    html = client.get("/admin/").content.decode()  # the menu (a JSON island of the sidebar)
    assert "jiyue-search" in html and "/admin/search/dictionary/" in html
    r = client.post(reverse("jiyue_search_dictionary_add"), {"word": "  皖事通办 ", "note": "移动端"},
                    follow=True)
    assert "已提交后台重建索引" in r.content.decode()
    term = DictionaryTerm.objects.get()
    assert term.word == "皖事通办" and term.created_by == province.users["platform_operator"]
    assert AuditEntry.objects.filter(action="search.dictionary.add", outcome="success").exists()
    # bad words get a clear Chinese error, never a 500
    for bad, message in (("", "请填写词语"), ("两个 词", "不是一个词语"), ("皖事通办", "词典中已有"),
                         ("<script>", "不是一个词语"), ("词" * 41, "不能超过")):
        r = client.post(reverse("jiyue_search_dictionary_add"), {"word": bad})
        assert r.status_code == 200 and message in r.content.decode(), bad
    r = client.post(reverse("jiyue_search_dictionary_edit", args=[term.pk]),
                    {"word": "皖事通", "freq": "99999999999"})
    assert "词频须在" in r.content.decode() or "确保该值小于或等于" in r.content.decode()
    client.post(reverse("jiyue_search_dictionary_edit", args=[term.pk]), {"word": "皖事通", "freq": "5000"})
    term.refresh_from_db()
    assert (term.word, term.freq) == ("皖事通", 5000)
    assert AuditEntry.objects.filter(action="search.dictionary.change").exists()
    listing = client.get(reverse("jiyue_search_dictionary"), {"q": "皖事"}).content.decode()
    assert "皖事通" in listing
    client.post(reverse("jiyue_search_dictionary_edit", args=[term.pk]), {"action": "delete"})
    assert not DictionaryTerm.objects.exists()
    assert AuditEntry.objects.filter(action="search.dictionary.delete", object_repr="皖事通").exists()


def test_system_admin_reads_but_cannot_change(province, client):
    DictionaryTerm.objects.create(word="一网通办")
    login(client, province, "system_admin")
    r = client.get(reverse("jiyue_search_dictionary"))
    assert r.status_code == 200 and "一网通办" in r.content.decode()
    assert "添加词语" not in r.content.decode()
    assert client.get(reverse("jiyue_search_stats")).status_code == 200
    assert refused(client.get(reverse("jiyue_search_dictionary_add")))
    assert refused(client.post(reverse("jiyue_search_synonym_add"), {"terms": "a,b"}))
    assert refused(client.post(reverse("jiyue_search_synonyms"), {"action": "import_defaults"}))
    assert not SynonymGroup.objects.exists()


def test_synonyms_defaults_import_and_validation(province, client):
    from jiyue.search import smart

    login(client, province, "platform_operator")
    html = client.get(reverse("jiyue_search_synonyms")).content.decode()
    assert "目前使用平台默认的同义词" in html and "社保,社会保险" in html
    assert ["社保", "社会保险"] in smart.synonym_groups()
    client.post(reverse("jiyue_search_synonyms"), {"action": "import_defaults"})
    assert SynonymGroup.objects.count() == len(smart.DEFAULT_SYNONYMS)
    assert AuditEntry.objects.filter(action="search.synonym.import").exists()
    for bad, message in (("社保", "至少要有两个"), ("社保,社保", "至少要有两个"), ("社保,<b>x</b>", "不是一个词语")):
        r = client.post(reverse("jiyue_search_synonym_add"), {"terms": bad, "kind": "synonym", "enabled": "on"})
        assert r.status_code == 200 and message in r.content.decode(), bad
    r = client.post(reverse("jiyue_search_synonym_add"),
                    {"terms": "网办， 网上办理、在线办理", "kind": "synonym", "enabled": "on"}, follow=True)
    group = SynonymGroup.objects.get(terms="网办,网上办理,在线办理")
    assert "已保存同义词" in r.content.decode()
    assert ["网办", "网上办理", "在线办理"] in smart.synonym_groups()
    # disabling takes the group out of search
    client.post(reverse("jiyue_search_synonym_edit", args=[group.pk]),
                {"terms": group.terms, "kind": "synonym"})
    group.refresh_from_db()
    assert not group.enabled and ["网办", "网上办理", "在线办理"] not in smart.synonym_groups()
    assert AuditEntry.objects.filter(action="search.synonym.change").exists()


def test_stats_chart_zero_results_and_one_click_fixes(province, client):
    today = timezone.localdate()
    QueryStat.objects.create(day=today, site_code="3400000002", query="社保", count=30,
                             zero_count=0, last_total=12)
    QueryStat.objects.create(day=today - timedelta(days=1), site_code="3400000002",
                             query="灵活就业参保", count=4, zero_count=4, last_total=0,
                             last_at=timezone.now())
    QueryStat.objects.create(day=today, site_code="3400000003", query="学籍证明", count=2,
                             zero_count=2, last_total=0)
    QueryStat.objects.create(day=today - timedelta(days=200), site_code="3400000002",
                             query="很久以前", count=9, zero_count=9, last_total=0)
    login(client, province, "platform_operator")
    html = client.get(reverse("jiyue_search_stats"), {"days": "30"}).content.decode()
    assert "共 36 次搜索，其中 6 次没有结果" in html
    assert "<svg" in html and "<rect" in html and "<polyline" in html and "style=" not in html.split("<svg")[1].split("</svg>")[0]
    assert "灵活就业参保" in html and "学籍证明" in html and "很久以前" not in html
    only_czt = client.get(reverse("jiyue_search_stats"), {"site": "3400000002"}).content.decode()
    assert "学籍证明" not in only_czt and "灵活就业参保" in only_czt
    # one click: a zero-result query becomes a synonym (and is marked handled)
    form = client.get(reverse("jiyue_search_synonym_add"),
                      {"terms": "灵活就业参保", "from": "灵活就业参保"}).content.decode()
    assert 'value="灵活就业参保,"' in form and 'name="from" value="灵活就业参保"' in form
    client.post(reverse("jiyue_search_synonym_add"),
                {"terms": "灵活就业参保,灵活就业人员参加社会保险", "kind": "synonym", "enabled": "on",
                 "from": "灵活就业参保"})
    assert QueryStat.objects.get(query="灵活就业参保").handled
    # or is marked handled directly
    client.post(reverse("jiyue_search_stats"), {"action": "handle", "query": "学籍证明"})
    assert QueryStat.objects.get(query="学籍证明").handled
    assert AuditEntry.objects.filter(action="search.stats.handle").count() == 2
    html = client.get(reverse("jiyue_search_stats")).content.decode()
    assert "这段时间没有未处理的无结果搜索" in html
    # bad parameters do no harm
    for params in ({"days": "x"}, {"days": "-1"}, {"site": "<script>"}, {"p": "99999"}):
        assert client.get(reverse("jiyue_search_stats"), params).status_code == 200


@pytest.mark.parametrize("name", ["jiyue_search_dictionary", "jiyue_search_synonyms", "jiyue_search_stats"])
def test_screens_answer_without_data(province, client, name):
    login(client, province, "platform_operator")
    assert client.get(reverse(name)).status_code == 200
