"""公众参与 in the admin: 意见征集, 问卷调查, 在线访谈.

Who: staff with an interaction role (互动分办员, 互动办理员) or the site administrator, for their
organisation's items; the platform operator for all. Handlers create and edit drafts, record
adoption decisions, enter guests' answers and transcripts; dispatchers also publish, close,
moderate comments and questions and publish the summary and the transcript
(`jiyue.participation.services`, which checks and audits every action, refusals included).
The three administrators see nothing here (403, audited).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue import audit
from jiyue.accounts import policy
from jiyue.core.admin_views import AdminPage, paginate

from . import services
from .forms import (ConsultationForm, InterviewForm, SurveyForm, SurveyQuestionForm,
                    TranscriptImageForm)
from .models import Comment, Consultation, Interview, Moderation, Survey, TranscriptImage

KINDS = {
    "consultation": {"model": Consultation, "form": ConsultationForm, "ns": "participation_consultations",
                     "title": gettext_lazy("意见征集"), "new": gettext_lazy("新建意见征集")},
    "survey": {"model": Survey, "form": SurveyForm, "ns": "participation_surveys",
               "title": gettext_lazy("问卷调查"), "new": gettext_lazy("新建问卷")},
    "interview": {"model": Interview, "form": InterviewForm, "ns": "participation_interviews",
                  "title": gettext_lazy("在线访谈"), "new": gettext_lazy("新建访谈")},
}


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class ParticipationPage(AdminPage):
    kind = "consultation"
    header_icon = "group"

    @property
    def spec(self):
        return KINDS[self.kind]

    def dispatch(self, request, *args, **kwargs):
        if not services.may_use_admin(request.user):
            audit.record(request.user, None, None, f"participation.{self.kind}.view", None,
                         outcome="denied", object_type=f"participation.{self.kind}")
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_object(self, pk):
        obj = services.visible(self.request.user, self.spec["model"]).filter(pk=pk).first()
        if obj is None:
            raise Http404
        return obj

    def url(self, name, *args):
        return reverse(f"{self.spec['ns']}:{name}", args=args)


class ListView(ParticipationPage):
    template_name = "participation/admin/list.html"

    def get_page_title(self):
        return str(self.spec["title"])

    def get_context_data(self, **kwargs):
        model = self.spec["model"]
        qs = services.visible(self.request.user, model).select_related("organisation")
        state = self.request.GET.get("state", "")
        if state in dict(model.STATES):
            qs = qs.filter(state=state)
        else:
            state = ""
        page = paginate(self.request, qs.order_by("-created_at", "-id"))
        now = timezone.now()
        for obj in page["page"]:
            obj.detail_url = self.url("detail", obj.pk)
            obj.state_label = (obj.phase_label(now) if isinstance(obj, Interview) and obj.state != "draft"
                               else obj.get_state_display())
            obj.start = getattr(obj, "opens_at", None) or obj.starts_at
            obj.end = getattr(obj, "closes_at", None) or obj.ends_at
            obj.note = ""
            if isinstance(obj, Consultation):
                pending = obj.comments.filter(status=Moderation.PENDING).count()
                if pending:
                    obj.note = _("待审核意见 %(n)s 条") % {"n": pending}
                if obj.state == Consultation.CLOSED:
                    due = services.summary_due(obj)
                    obj.note += (" " if obj.note else "") + (
                        _("结果应于 %(d)s 前公布（已超期）") if due < now else _("结果应于 %(d)s 前公布")) % {
                        "d": timezone.localtime(due).strftime("%Y-%m-%d")}
            elif isinstance(obj, Interview):
                pending = obj.questions.filter(status=Moderation.PENDING).count()
                if pending:
                    obj.note = _("待审核提问 %(n)s 条") % {"n": pending}
        return {**super().get_context_data(**kwargs), **page, "states": self.spec["model"].STATES,
                "state": state, "new_url": self.url("create"), "new_label": self.spec["new"]}


class EditView(ParticipationPage):
    template_name = "participation/admin/edit.html"

    def get_page_title(self):
        return str(self.spec["new"]) if self.object is None else _("编辑：%(t)s") % {"t": self.object.title}

    def dispatch(self, request, *args, **kwargs):
        self.object = None
        if not services.may_use_admin(request.user):
            return super().dispatch(request, *args, **kwargs)
        if "pk" in kwargs:
            self.object = self.get_object(kwargs["pk"])
            if self.object.state != "draft":
                services.require(request.user, self.object, f"participation.{self.kind}.edit",
                                 dispatch=True)
        return super().dispatch(request, *args, **kwargs)

    def form(self, data=None, files=None):
        return self.spec["form"](data=data, files=files, instance=self.object, user=self.request.user)

    def get_context_data(self, **kwargs):
        back = self.url("detail", self.object.pk) if self.object else self.url("index")
        return {**super().get_context_data(**kwargs), "form": kwargs.get("form") or self.form(),
                "back": back}

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        created = self.object is None
        obj = form.save(commit=False)
        try:
            services.save_draft(request.user, obj, created=created)
        except services.ParticipationError as exc:
            form.add_error(exc.field or None, exc.message)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(request, _("已保存：%(t)s") % {"t": obj.title})
        return redirect(self.url("detail", obj.pk))


class DetailView(ParticipationPage):
    """One item with its actions; POST `action=…` runs one service call."""

    def get_page_title(self):
        return self.object.title

    def dispatch(self, request, *args, **kwargs):
        self.object = None
        if services.may_use_admin(request.user):
            self.object = self.get_object(kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def common(self) -> dict:
        user, obj = self.request.user, self.object
        return {"object": obj, "edit_url": self.url("edit", obj.pk),
                "index_url": self.url("index"),
                "can_dispatch": policy.can_dispatch_interaction(user, obj.organisation_id),
                "can_edit": obj.state == "draft" or policy.can_dispatch_interaction(user, obj.organisation_id)}

    def actions(self) -> dict:
        return {"publish": lambda: services.publish(self.request.user, self.object),
                "close": lambda: services.close(self.request.user, self.object)}

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        handler = self.actions().get(action)
        if handler is None:
            messages.error(request, _("未知的操作。"))
            return redirect(request.get_full_path())
        try:
            done = handler()
        except services.ParticipationError as exc:
            messages.error(request, exc.message)
        else:
            if isinstance(done, HttpResponse):
                return done
            messages.success(request, done or _("操作成功。"))
        return redirect(request.get_full_path())


def _item(qs, pk):
    obj = qs.filter(pk=_int(pk)).first()
    if obj is None:
        raise Http404
    return obj


class ConsultationDetail(DetailView):
    kind = "consultation"
    template_name = "participation/admin/consultation.html"

    def get_context_data(self, **kwargs):
        c = self.object
        show = self.request.GET.get("show", "pending")
        if show not in ("pending", "approved", "rejected", "all"):
            show = "pending"
        qs = c.comments.all() if show == "all" else c.comments.filter(status=show)
        page = paginate(self.request, qs.order_by("created_at", "id"))
        due = services.summary_due(c) if c.state == Consultation.CLOSED else None
        return {**super().get_context_data(**kwargs), **self.common(), **page, "show": show,
                "shows": [("pending", _("待审核")), ("approved", _("已通过")), ("rejected", _("未通过")),
                          ("all", _("全部"))],
                "totals": services.totals(c), "adoptions": Comment.ADOPTIONS, "summary_due": due,
                "overdue": bool(due and due < timezone.now()),
                "public_url": f"//{c.site.domain}/_/participation/consultations/{c.pk}"}

    def actions(self):
        user, c = self.request.user, self.object
        post = self.request.POST

        def comment():
            return _item(c.comments.all(), post.get("comment"))

        def approve():
            services.moderate(user, comment(), True)
            return _("意见已通过审核，已公开显示。")

        def reject():
            services.moderate(user, comment(), False)
            return _("意见未通过审核，不公开。")

        def adopt():
            services.set_adoption(user, comment(), post.get("adoption", ""), post.get("reason", ""))
            return _("已记录采纳情况。")

        def summarise():
            services.publish_summary(user, c, post.get("summary", ""))
            return _("意见采纳情况已公布。")

        return {**super().actions(), "approve": approve, "reject": reject, "adopt": adopt,
                "summarise": summarise}


class SurveyDetail(DetailView):
    kind = "survey"
    template_name = "participation/admin/survey.html"

    def get_context_data(self, **kwargs):
        from django.utils.safestring import mark_safe

        s = self.object
        results = services.results(s)
        for q in results["questions"]:
            q["svg"] = mark_safe(q["svg"])  # built and escaped by charts.bar_chart
        return {**super().get_context_data(**kwargs), **self.common(),
                "questions": s.questions.all(), "results": results,
                "question_form": kwargs.get("question_form") or SurveyQuestionForm(),
                "export_url": self.url("export", s.pk),
                "public_url": f"//{s.site.domain}/_/participation/surveys/{s.pk}"}

    def actions(self):
        user, s = self.request.user, self.object
        post = self.request.POST

        def editable():
            services.require(user, s, "participation.survey.questions", dispatch=False)
            if s.state != Survey.DRAFT:
                raise services.ParticipationError(_("问卷发布后不能再修改题目。"), status=409)

        def add():
            editable()
            form = SurveyQuestionForm(post)
            if not form.is_valid():
                return self.render_to_response(self.get_context_data(question_form=form))
            q = form.save(commit=False)
            q.survey = s
            q.order = (s.questions.count() + 1)
            with transaction.atomic():
                q.save()
                audit.record(user, s.organisation, None, "participation.survey.question_add", q,
                             object_type="participation.surveyquestion", object_id=str(q.pk))
            return _("已添加题目。")

        def delete():
            editable()
            q = _item(s.questions.all(), post.get("question"))
            with transaction.atomic():
                audit.record(user, s.organisation, None, "participation.survey.question_delete", q,
                             object_type="participation.surveyquestion", object_id=str(q.pk))
                q.delete()
            return _("已删除题目。")

        return {**super().actions(), "add_question": add, "delete_question": delete}


class SurveyExport(ParticipationPage):
    kind = "survey"

    def get(self, request, *args, **kwargs):
        s = self.get_object(kwargs["pk"])
        body = services.export_csv(request.user, s)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="survey-{s.pk}.csv"'
        return response


class InterviewDetail(DetailView):
    kind = "interview"
    template_name = "participation/admin/interview.html"

    def get_context_data(self, **kwargs):
        i = self.object
        show = self.request.GET.get("show", "pending")
        if show not in ("pending", "approved", "rejected", "all"):
            show = "pending"
        qs = i.questions.all() if show == "all" else i.questions.filter(status=show)
        page = paginate(self.request, qs.order_by("created_at", "id"))
        return {**super().get_context_data(**kwargs), **self.common(), **page, "show": show,
                "shows": [("pending", _("待审核")), ("approved", _("已通过")), ("rejected", _("未通过")),
                          ("all", _("全部"))],
                "phase": i.phase_label() if i.state == Interview.PUBLISHED else i.get_state_display(),
                "ended": i.phase() == Interview.ENDED, "images": i.images.all(),
                "image_form": kwargs.get("image_form") or TranscriptImageForm(),
                "guest_names": [g.get("name", "") for g in i.guests],
                "public_url": f"//{i.site.domain}/_/participation/interviews/{i.pk}"}

    def actions(self):
        user, i = self.request.user, self.object
        post = self.request.POST

        def question():
            return _item(i.questions.all(), post.get("question"))

        def approve():
            services.moderate(user, question(), True)
            return _("提问已通过审核，已公开显示。")

        def reject():
            services.moderate(user, question(), False)
            return _("提问未通过审核，不公开。")

        def answer():
            services.answer_question(user, question(), post.get("guest", ""), post.get("answer", ""))
            return _("已保存嘉宾回答。")

        def transcript():
            services.require(user, i, "participation.interview.transcript_edit", dispatch=False)
            if i.transcript_published_at and not policy.can_dispatch_interaction(user, i.organisation_id):
                raise PermissionDenied
            text = services.clean_text(post.get("transcript", ""))
            if len(text) > 100_000:
                raise services.ParticipationError(_("文字实录不能超过 100000 字。"))
            with transaction.atomic():
                i.transcript = text
                i.save(update_fields=["transcript", "updated_at"])
                audit.record(user, i.organisation, None, "participation.interview.transcript_edit", i,
                             object_type="participation.interview", object_id=str(i.pk))
            return _("已保存文字实录。")

        def publish_transcript():
            services.publish_transcript(user, i)
            return _("文字实录已公布。")

        def add_image():
            services.require(user, i, "participation.interview.image_add", dispatch=False)
            form = TranscriptImageForm(post, self.request.FILES)
            if not form.is_valid():
                return self.render_to_response(self.get_context_data(image_form=form))
            img = form.save(commit=False)
            img.interview = i
            img.order = i.images.count() + 1
            with transaction.atomic():
                img.save()
                audit.record(user, i.organisation, None, "participation.interview.image_add", img,
                             object_type="participation.transcriptimage", object_id=str(img.pk))
            return _("已上传图片。")

        def delete_image():
            services.require(user, i, "participation.interview.image_delete", dispatch=False)
            img = _item(TranscriptImage.objects.filter(interview=i), post.get("image"))
            with transaction.atomic():
                audit.record(user, i.organisation, None, "participation.interview.image_delete", img,
                             object_type="participation.transcriptimage", object_id=str(img.pk))
                img.file.delete(save=False)
                img.delete()
            return _("已删除图片。")

        actions = {**super().actions(), "approve": approve, "reject": reject, "answer": answer,
                   "transcript": transcript, "publish_transcript": publish_transcript,
                   "add_image": add_image, "delete_image": delete_image}
        actions.pop("close")
        return actions


DETAIL = {"consultation": ConsultationDetail, "survey": SurveyDetail, "interview": InterviewDetail}
