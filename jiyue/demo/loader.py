"""Builds the demo province (or city) from jiyue.demo.content. Safe to run again."""

from __future__ import annotations

import io
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiyue.accounts.models import RoleGrant, User
from jiyue.accounts.services import grant
from jiyue.core.models import Platform
from jiyue.library import services as library
from jiyue.library.models import (Article, Classification, FileResource, ImageResource,
                                  Interpretation, LinkResource, PolicyDocument, ServiceGuide)
from jiyue.platform.models import Organisation, Site
from jiyue.platform.services import column_by_slug, create_site, org_collection
from jiyue.review.services import set_policy

from . import content
from .models import DemoObject

DEMO_PASSWORD = "Demo@2026"
VALIDITY = {"有效": "valid", "失效": "expired", "废止": "repealed"}
FORMS = {"文字解读": "text", "图文解读": "graphic", "专家解读": "expert", "视频解读": "video"}
SHARING = {"all": "all", "request": "request", "none": "none"}


def _aware(s: str) -> datetime:
    return timezone.make_aware(datetime.strptime(s, "%Y-%m-%d %H:%M"))


class Loader:
    def __init__(self, platform_key: str, progress=None):
        self.key = platform_key
        self.progress = progress or (lambda done, total, label: None)
        self.spec = content.PROVINCE if platform_key == "ah" else content.CITY
        self.orgs_spec = content.ORGANISATIONS if platform_key == "ah" else content.CITY_ORGANISATIONS
        self.orgs: dict[str, Organisation] = {}
        self.sites: dict[str, Site] = {}
        self.objects: dict[str, object] = {}
        self._vocab: dict[tuple[str, str], Classification | None] = {}

    # -- structure --------------------------------------------------------------------
    @transaction.atomic
    def platform(self) -> Platform:
        p = Platform.objects.first()
        if p is None:
            p = Platform.objects.create(code=self.spec["platform_code"], name=self.spec["name"],
                                        level=self.spec["level"],
                                        region_code=self.spec["region_code"], is_demo=True)
        return p

    @transaction.atomic
    def organisations(self) -> None:
        pending = list(self.orgs_spec)
        while pending:
            rest = []
            for o in pending:
                if o["parent"] and o["parent"] not in self.orgs:
                    rest.append(o)
                    continue
                existing = Organisation.objects.filter(key=o["key"]).first()
                if existing is None:
                    fields = dict(name=o["name"], short_name=o.get("short_name", ""),
                                  code=o["credit_code"], kind=o.get("kind", "department"),
                                  region_code=o.get("region_code") or self.spec["region_code"],
                                  key=o["key"])
                    if o["parent"]:
                        existing = self.orgs[o["parent"]].add_child(**fields)
                    else:
                        existing = Organisation.add_root(**fields)
                self.orgs[o["key"]] = existing
            if len(rest) == len(pending):
                raise ValueError("organisation tree has unknown parents")
            pending = rest

    def sites_and_policies(self) -> None:
        with_sites = [o for o in self.orgs_spec if o.get("site")]
        for i, o in enumerate(with_sites, 1):
            org = self.orgs[o["key"]]
            site = Site.objects.filter(organisation=org).first()
            if site is None:
                s = dict(o["site"])
                site = create_site(
                    organisation=org, name=s["name"], level=s["level"], kind=s["kind"],
                    domain=s["domain"], cn_domain=s.get("cn_domain") or None, code=s["code"],
                    sponsor=s["sponsor"], operator=s.get("operator", ""),
                    address=s.get("address", ""), phone=s.get("phone", ""),
                    email=s.get("email", ""), icp=s.get("icp", ""),
                    police_record=s.get("police_record", ""),
                    police_record_code=s.get("police_record_code", ""),
                    conac=s.get("conac", "red"), state=Site.STATE_RUNNING)
                set_policy(org, levels=2, secrecy_check=True)
            self.sites[o["key"]] = site
            self.progress(i, len(with_sites), _("站点"))

    def staff(self) -> list[dict]:
        from django.contrib.auth.hashers import make_password

        # One hash for every demo account: hashing 200 passwords one by one takes a minute.
        hashed = make_password(DEMO_PASSWORD)
        rows = []
        for i, s in enumerate(content.staff(self.key), 1):
            user = User.objects.filter(username=s["username"]).first()
            if user is None:
                user = User.objects.create(
                    username=s["username"], password=hashed, real_name=s["name"],
                    organisation=self.orgs.get(s["org"]), is_demo=True)
            for r in s["roles"]:
                site = self.sites.get(r["site"]) if r["site"] else None
                column = column_by_slug(site, r["column"]) if site and r["column"] else None
                exists = RoleGrant.objects.filter(user=user, role=r["role"], site=site,
                                                  column=column, level=r["level"]).exists()
                if not exists:
                    grant(None, user, r["role"], site=site, column=column, level=r["level"])
            rows.append({"username": user.username, "name": user.real_name,
                         "roles": _("、").join(
                             f"{dict(RoleGrant._meta.get_field('role').choices)[r['role']]}"
                             f"{'L' + str(r['level']) if r['level'] else ''}"
                             f"@{self.sites[r['site']].name if r['site'] else _('全平台')}"
                             for r in s["roles"])})
            self.progress(i, 0, _("账号"))
        if not User.objects.filter(username="citizen").exists():
            # A citizen for trying one login across the sites (e-mail or mobile number).
            User.objects.create(username="citizen", password=hashed, real_name=_("张市民"),
                                kind=User.KIND_CITIZEN, email="citizen@example.cn",
                                email_verified=True, mobile="13800000000", mobile_verified=True,
                                is_demo=True)
        rows.append({"username": "citizen", "name": _("张市民"),
                     "roles": _("公众用户（登录名也可用 citizen@example.cn 或 13800000000）")})
        return rows

    # -- resources ----------------------------------------------------------------------
    def _classification(self, scheme: str, path: str | None):
        if not path:
            return None
        key = (scheme, path)
        if key not in self._vocab:
            self._vocab[key] = self._lookup(scheme, path)
        return self._vocab[key]

    def _lookup(self, scheme: str, path: str):
        parts = path.split("\\")
        parent = None
        for name in parts:
            parent = Classification.objects.filter(scheme=scheme, name=name, parent=parent).first()
            if parent is None:
                return None
        return parent

    def _common(self, spec) -> dict:
        return dict(organisation=self.orgs[spec["org"]], title=spec["title"],
                    summary=spec.get("summary", ""), keywords=",".join(spec.get("keywords", [])),
                    source=spec.get("source", ""), author=spec.get("author", ""),
                    sharing=SHARING.get(spec.get("shared", "all"), "all"))

    def _build(self, spec):
        kind = spec["kind"]
        common = self._common(spec)
        if kind == "article":
            return Article(article_type=spec.get("article_type", "news"), body=spec["body"], **common)
        if kind == "policy":
            from datetime import date

            d = lambda v: date.fromisoformat(v) if v else None  # noqa: E731
            obj = PolicyDocument(
                doc_number=spec.get("doc_number") or "", issuing_body=spec["issuing_body"],
                written_on=d(spec["written_on"]), validity=VALIDITY.get(spec.get("validity"), "valid"),
                effective_on=d(spec.get("effective_on")), expired_on=d(spec.get("expired_on")),
                genre=self._classification("genre", spec.get("genre")),
                disclosure="request" if spec.get("disclosure") == "依申请公开" else "active",
                body=spec["body"], **common)
            obj.topic = self._classification("topic", spec.get("topic"))
            return obj
        if kind == "interpretation":
            return Interpretation(interprets=self.objects[spec["interprets"]],
                                  form=FORMS.get(spec.get("interpretation_form"), "text"),
                                  body=spec["body"], **common)
        if kind == "guide":
            g = spec["guide"]
            ul = lambda items: "<ol>" + "".join(f"<li>{x}</li>" for x in items) + "</ol>" if items else ""  # noqa: E731
            return ServiceGuide(
                legal_basis=g.get("设定依据", ""), agency=g.get("受理机构", ""),
                applicants=g.get("办理对象", ""),
                conditions=f"<p>{g['申请条件']}</p>" if g.get("申请条件") else "",
                materials=ul(g.get("办理材料")), process=ul(g.get("办理流程")),
                location=g.get("办理地点", ""), hours=g.get("办理时间", ""),
                promised_limit=g.get("办理时限", ""), statutory_limit=g.get("法定办结时限", ""),
                fees=g.get("收费标准及依据", ""), consult_phone=g.get("咨询电话", ""),
                complaint_phone=g.get("监督投诉电话", ""), online_url=g.get("网上办理入口", ""),
                forms="\n".join(g.get("表格下载", [])), **common)
        if kind == "link":
            return LinkResource(url=spec["url"], open_in_new_window=spec.get("open_in_new_window", True),
                                **common)
        if kind == "file":
            from wagtail.documents.models import Document

            doc = Document(title=spec["title"], collection=org_collection(common["organisation"]))
            doc.file.save(spec["filename"], ContentFile(spec["content_text"].encode("utf-8")), save=False)
            doc._set_document_file_metadata()
            doc.save()
            return FileResource(document=doc, **common)
        if kind == "image":
            from wagtail.images.models import Image

            spec_img = spec["image_spec"]
            img = Image(title=spec["title"], collection=org_collection(common["organisation"]),
                        width=spec_img.get("width", 800), height=spec_img.get("height", 450))
            img.file.save(f"{spec['key']}.png", ContentFile(_draw(spec["image_spec"])), save=False)
            img.width, img.height = spec_img.get("width", 800), spec_img.get("height", 450)
            img._set_image_file_metadata()
            img.save()
            return ImageResource(image=img, alt=spec["alt"], caption=spec.get("caption", ""), **common)
        raise ValueError(f"unknown kind {kind}")

    def resources(self) -> int:
        specs = content.resources(self.key)
        known = dict(DemoObject.objects.values_list("key", "resource_id"))
        from jiyue.library.models import Resource

        by_id = {r.pk: r.specific for r in Resource.objects.filter(pk__in=known.values())}
        for k, pk in known.items():
            if pk in by_id:
                self.objects[k] = by_id[pk]
        created = 0
        # policies first: interpretations point at them
        specs.sort(key=lambda s: (s["kind"] == "interpretation", s["published_at"]))
        for i, spec in enumerate(specs, 1):
            if spec["key"] in self.objects:
                continue
            with transaction.atomic():
                obj = self._build(spec)
                when = _aware(spec["published_at"])
                obj.published_at = when
                obj.first_published_at = when
                obj.live = False
                obj.save()
                revision = obj.save_revision()
                revision.publish()
                type(obj).objects.filter(pk=obj.pk).update(
                    last_published_at=when, first_published_at=when, published_at=when)
                # the admin lists show when each item was last changed: its demo date
                type(revision).objects.filter(pk=revision.pk).update(created_at=when)
                DemoObject.objects.create(key=spec["key"], resource=obj)
                for site_key, slug in spec.get("columns", []):
                    site = self.sites.get(site_key)
                    col = column_by_slug(site, slug) if site else None
                    if col is not None:
                        library.attach(obj, col)
                self.objects[spec["key"]] = obj
                created += 1
            self.progress(i, len(specs), _("信息资源"))
        return created

    def faq(self) -> int:
        """The province's demo Q&A knowledge base (`data/faq.csv`, the `jiyue faq import`
        format), through the Q&A importer: rerunning adds nothing; the embeddings are computed
        by the background job."""
        from pathlib import Path

        from jiyue.qa import importer, tasks

        path = Path(__file__).parent / "data" / "faq.csv"
        if self.key != "ah" or not path.exists():
            return 0
        report = importer.import_csv(path.read_bytes())
        if report.added:
            tasks.request_embedding()
        self.progress(1, 1, _("问答知识"))
        return report.added

    def run(self) -> dict:
        self.platform()
        self.organisations()
        self.sites_and_policies()
        accounts = self.staff()
        created = self.resources()
        self.faq()
        self.interaction()
        return {"accounts": accounts, "created": created}

    # Apps that add demo content of their own: `<app>.demo.load(loader)` (idempotent; it may use
    # self.orgs, self.sites, self.key and self.progress).
    INTERACTION_APPS = ("jiyue.workdays", "jiyue.letters", "jiyue.hotline", "jiyue.disclosure",
                        "jiyue.feedback", "jiyue.participation")

    def interaction(self) -> None:
        import importlib

        for app in self.INTERACTION_APPS:
            try:
                module = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo":
                    raise
                continue
            with transaction.atomic():
                module.load(self)


def _draw(spec: dict) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (spec.get("width", 800), spec.get("height", 450)), spec.get("color", "#1f4e79"))
    draw = ImageDraw.Draw(img)
    font = None
    for path in ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                 "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"):
        try:
            font = ImageFont.truetype(path, 36)
            break
        except OSError:
            continue
    if font is not None:
        draw.text((40, img.height - 80), spec.get("label", ""), fill="#ffffff", font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
