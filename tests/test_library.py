import io
import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from jiyue.library import services
from jiyue.library.models import Article, Placement, PolicyDocument, Resource, ServiceGuide
from jiyue.library.uploads import validate_upload


def test_global_identifier_is_platform_code_and_local_id(province, make_policy):
    doc = make_policy()
    assert doc.global_id == f"ah:{doc.pk}"
    doc.title = "改了标题"
    doc.save()
    doc.refresh_from_db()
    assert doc.global_id == f"ah:{doc.pk}"


def test_index_number_assigned_on_first_publish_only(province, make_policy):
    doc = make_policy()
    assert doc.index_number is None
    doc.save_revision().publish()
    doc.refresh_from_db()
    now = timezone.localtime()
    assert doc.index_number == f"{province.orgs['czt'].code}/{now:%Y%m}-00001"
    # a second document of the same organisation gets the next serial
    other = make_policy(title="第二份文件", doc_number="皖财〔2026〕13号", publish=True)
    assert other.index_number.endswith("-00002")
    # republishing keeps the number
    doc.save_revision().publish()
    doc.refresh_from_db()
    assert doc.index_number.endswith("-00001")
    # another organisation counts separately
    third = make_policy(org="jyt", title="教育厅文件", doc_number="皖教〔2026〕1号", publish=True)
    assert third.index_number.startswith(province.orgs["jyt"].code) and third.index_number.endswith("-00001")


def test_index_number_pattern_is_a_platform_setting(province, make_policy):
    province.platform.index_number_pattern = "{org}/{year}-{serial:05d}"
    province.platform.save()
    doc = make_policy(publish=True)
    assert re.fullmatch(rf"{province.orgs['czt'].code}/\d{{4}}-00001", doc.index_number)


def test_articles_get_no_index_number_unless_in_directory(province):
    a = Article(organisation=province.orgs["czt"], title="厅领导调研", body="<p>x</p>", live=False)
    a.save()
    a.save_revision().publish()
    a.refresh_from_db()
    assert a.index_number is None and a.published_at is not None


def test_rich_text_is_sanitised(province):
    a = Article(organisation=province.orgs["czt"], title="t",
                body='<p onclick="steal()">好<script>alert(1)</script>'
                     '<a href="javascript:alert(1)">链接</a><a href="https://www.ah.gov.cn/">省政府</a></p>')
    a.save()
    a.refresh_from_db()
    assert "script" not in a.body and "onclick" not in a.body and "javascript:" not in a.body
    assert "https://www.ah.gov.cn/" in a.body and "好" in a.body


def test_written_date_after_publish_date_refused(province):
    doc = PolicyDocument(organisation=province.orgs["czt"], title="t", issuing_body="安徽省财政厅",
                         written_on=timezone.localdate() + timedelta(days=3), body="<p>x</p>")
    with pytest.raises(ValidationError) as exc:
        doc.full_clean()
    assert "成文日期不能晚于发布日期" in str(exc.value)


def test_doc_number_normalised_and_validated_on_clean(province):
    doc = PolicyDocument(organisation=province.orgs["czt"], title="t", issuing_body="安徽省财政厅",
                         written_on=date(2026, 1, 2), body="<p>x</p>", doc_number="皖财[2026]7号")
    doc.full_clean()
    assert doc.doc_number == "皖财〔2026〕7号"
    doc.doc_number = "财政厅第七号文"
    with pytest.raises(ValidationError, match="文号"):
        doc.full_clean()


def test_repealed_documents_need_a_date(province):
    doc = PolicyDocument(organisation=province.orgs["czt"], title="t", issuing_body="安徽省财政厅",
                         written_on=date(2020, 1, 2), body="<p>x</p>", validity="repealed")
    with pytest.raises(ValidationError, match="废止日期"):
        doc.full_clean()


def test_service_guide_reports_missing_elements(province):
    g = ServiceGuide(organisation=province.orgs["czt"], title="会计代理记账机构审批",
                     agency="安徽省财政厅", consult_phone="0551-1")
    missing = g.missing_elements()
    assert "设定依据" in missing and "办理流程" in missing and "受理机构" not in missing


def test_upload_validation():
    validate_upload(SimpleUploadedFile("表.csv", "名称,金额\n预算,1\n".encode()))
    with pytest.raises(ValidationError, match="不支持的文件类型"):
        validate_upload(SimpleUploadedFile("a.exe", b"MZ\x90\x00"))
    with pytest.raises(ValidationError, match="可执行程序|不符"):
        validate_upload(SimpleUploadedFile("report.pdf", b"\x7fELF\x02\x01\x01" + b"\0" * 100))
    with pytest.raises(ValidationError, match="不符"):
        validate_upload(SimpleUploadedFile("report.pdf", b"just text, not a pdf"))


def test_upload_size_limit(settings):
    settings.JIYUE_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(ValidationError, match="文件过大"):
        validate_upload(SimpleUploadedFile("a.txt", b"x" * 2000))


def test_attachments_stored_by_content_hash(db, tmp_path, settings):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    settings.MEDIA_ROOT = str(tmp_path)
    a = default_storage.save("documents/一.txt", ContentFile(b"same bytes"))
    b = default_storage.save("documents/二.txt", ContentFile(b"same bytes"))
    c = default_storage.save("documents/三.txt", ContentFile(b"other bytes"))
    assert a == b != c
    assert len(list((tmp_path / "documents").rglob("*.txt"))) == 2


def test_concurrent_index_numbers_are_unique(transactional_db):
    """Many threads asking for serials at once never get the same one."""
    import threading

    from django.db import close_old_connections, connection

    from jiyue.library.indexno import next_serial

    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("in-memory SQLite cannot be shared between threads")
    got, errors = [], []

    def worker():
        try:
            for _ in range(10):
                got.append(next_serial("000014349", "2026"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    assert sorted(got) == list(range(1, 41))


def test_admin_document_upload_refuses_disguised_files(client, province):
    from wagtail.documents.models import Document

    from jiyue.platform.services import org_collection

    client.force_login(province.users["czt_editor"])
    collection = org_collection(province.orgs["czt"])
    bad = SimpleUploadedFile("通知.pdf", b"MZ\x90\x00" + b"\0" * 200, content_type="application/pdf")
    r = client.post("/admin/documents/add/", {"title": "伪装文件", "file": bad, "collection": collection.pk})
    assert r.status_code == 200 and ("可执行程序" in r.content.decode() or "不符" in r.content.decode())
    assert not Document.objects.filter(title="伪装文件").exists()
    good = SimpleUploadedFile("预算表.csv", "项目,金额\n".encode(), content_type="text/csv")
    r = client.post("/admin/documents/add/", {"title": "预算表", "file": good, "collection": collection.pk})
    assert r.status_code == 302 and Document.objects.filter(title="预算表").exists()
