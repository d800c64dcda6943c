"""A resource kind added by another app (tests/extrakind) works everywhere without core changes:
the registry, the admin, the API, placements, review and publishing."""

import json

from jiyue.library import services
from jiyue.library.kinds import kinds, resource_models


def test_a_new_kind_works_without_changing_the_core(client, province):
    from tests.extrakind.models import Video

    assert kinds()["video"] is Video and kinds()["letter"].__name__ == "LetterRecord"
    # the seven built in, the letters app's 公开信件 and video
    assert len(resource_models()) == 9
    v = Video(organisation=province.orgs["czt"], title="预算公开政策视频解读", url="https://czt.ah.gov.cn/v/1.mp4",
              minutes=5, live=False)
    v.save()
    v.save_revision()
    assert v.global_id == f"ah:{v.pk}"
    services.attach(v, province.column("czt", "zcjd"))
    v.get_workflow().start(v, province.users["czt_editor"])
    for reviewer, extra in (("czt_reviewer1", {}), ("czt_reviewer2", {"secrecy_confirmed": True})):
        ts = v.current_workflow_state.current_task_state
        ts.task.specific.on_action(ts, province.users[reviewer], "approve", **extra)
        v.refresh_from_db()
    assert v.live
    r = client.get("/api/v1/resources", {"kind": "video", "site": "3400000002"}).json()
    assert [x["fields"]["url"] for x in r["results"]] == ["https://czt.ah.gov.cn/v/1.mp4"]
    client.force_login(province.users["czt_editor"])
    page = client.get("/admin/snippets/extrakind/video/")
    assert page.status_code == 200 and "预算公开政策视频解读" in page.content.decode()
    r = client.post("/api/v1/resources", data=json.dumps({"kind": "video", "fields": {
        "title": "第二个视频", "url": "https://czt.ah.gov.cn/v/2.mp4", "minutes": 3}}),
        content_type="application/json")
    assert r.status_code == 201 and r.json()["kind"] == "video"
