"""Admin forms for participation items (the public forms are validated by services.py)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue.accounts import policy

from . import services
from .models import Consultation, Interview, Survey, SurveyQuestion, TranscriptImage

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
DRAFT_EXTENSIONS = {"pdf", "doc", "docx", "wps", "ofd"}
MAX_DRAFT_BYTES = 20 * 1024 * 1024
MAX_IMAGE_BYTES = 5 * 1024 * 1024


def _when(label):
    return forms.DateTimeField(label=label, input_formats=DATETIME_FORMATS,
                               widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                          format="%Y-%m-%dT%H:%M"))


class ItemForm(forms.ModelForm):
    """Organisation limited to those whose interaction work the user does; dates in order."""

    start_field = "opens_at"
    end_field = "closes_at"

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        from jiyue.platform.models import Organisation

        ids = policy.interaction_organisation_ids(user) if user is not None else set()
        self.fields["organisation"].queryset = Organisation.objects.filter(
            pk__in=ids, site__isnull=False).order_by("path")
        self.fields["organisation"].empty_label = None
        for name, field in self.fields.items():
            if isinstance(field, forms.CharField):
                field.strip = True

    def clean(self):
        data = super().clean()
        start, end = data.get(self.start_field), data.get(self.end_field)
        if start and end and end <= start:
            self.add_error(self.end_field, _("结束时间须晚于开始时间。"))
        for name, value in list(data.items()):
            if isinstance(value, str):
                data[name] = services.clean_text(value)
        return data


class ConsultationForm(ItemForm):
    opens_at = _when(gettext_lazy("开始时间"))
    closes_at = _when(gettext_lazy("截止时间"))

    class Meta:
        model = Consultation
        fields = ["organisation", "title", "intro", "draft_text", "draft_file", "opens_at",
                  "closes_at", "require_login"]

    def clean_draft_file(self):
        f = self.cleaned_data.get("draft_file")
        if f and hasattr(f, "content_type"):  # a new upload
            from jiyue.library.uploads import validate_upload

            validate_upload(f, extensions=DRAFT_EXTENSIONS, max_bytes=MAX_DRAFT_BYTES)
        return f

    def clean(self):
        data = super().clean()
        if not data.get("draft_text") and not data.get("draft_file"):
            self.add_error("draft_text", _("请填写草案全文或上传草案文件。"))
        return data


class SurveyForm(ItemForm):
    opens_at = _when(gettext_lazy("开始时间"))
    closes_at = _when(gettext_lazy("截止时间"))

    class Meta:
        model = Survey
        fields = ["organisation", "title", "intro", "opens_at", "closes_at", "require_login",
                  "results_public"]


class InterviewForm(ItemForm):
    start_field = "starts_at"
    end_field = "ends_at"
    starts_at = _when(gettext_lazy("开始时间"))
    ends_at = _when(gettext_lazy("结束时间"))
    guest_lines = forms.CharField(
        label=gettext_lazy("嘉宾"), widget=forms.Textarea(attrs={"rows": 4}), max_length=2000,
        help_text=gettext_lazy("每行一位，格式：姓名｜职务。"))

    class Meta:
        model = Interview
        fields = ["organisation", "title", "intro", "guest_lines", "starts_at", "ends_at",
                  "accept_questions", "transcript"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["guest_lines"].initial = services.format_guests(self.instance.guests)

    def clean_guest_lines(self):
        guests = services.parse_guests(self.cleaned_data.get("guest_lines", ""))
        if not guests:
            raise ValidationError(_("请至少填写一位嘉宾。"))
        if len(guests) > 20:
            raise ValidationError(_("嘉宾不能超过 20 位。"))
        return guests

    def save(self, commit=True):
        self.instance.guests = self.cleaned_data["guest_lines"]
        return super().save(commit=commit)


class SurveyQuestionForm(forms.ModelForm):
    option_lines = forms.CharField(
        label=gettext_lazy("选项"), required=False, max_length=3000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("单选题和多选题：每行一个选项，2 至 20 个。"))

    class Meta:
        model = SurveyQuestion
        fields = ["kind", "text", "option_lines", "required"]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        options = [services.clean_text(o)[:100] for o in (data.get("option_lines") or "").split("\n")]
        options = [o for o in options if o]
        if kind in (SurveyQuestion.SINGLE, SurveyQuestion.MULTIPLE):
            if not 2 <= len(options) <= 20:
                self.add_error("option_lines", _("单选题和多选题须有 2 至 20 个选项。"))
            elif len(set(options)) != len(options):
                self.add_error("option_lines", _("选项不能重复。"))
        else:
            options = []
        data["options"] = options
        data["text"] = services.clean_text(data.get("text", ""))
        return data

    def save(self, commit=True):
        self.instance.options = self.cleaned_data["options"]
        return super().save(commit=commit)


class TranscriptImageForm(forms.ModelForm):
    class Meta:
        model = TranscriptImage
        fields = ["file", "caption"]

    def clean_file(self):
        from jiyue.library.uploads import validate_upload

        f = self.cleaned_data.get("file")
        if f:
            validate_upload(f, kind="image", extensions={"jpg", "jpeg", "png"},
                            max_bytes=MAX_IMAGE_BYTES)
        return f

    def clean_caption(self):
        return services.clean_text(self.cleaned_data.get("caption", ""))
