from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.forms import TaskStateCommentForm


class SecrecyConfirmForm(TaskStateCommentForm):
    secrecy_confirmed = forms.BooleanField(
        label=_("已完成保密审查，确认内容不涉及国家秘密、工作秘密和个人隐私"), required=True)
