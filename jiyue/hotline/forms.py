"""The peer form of 12345对接配置 (the key is never a field: it is generated and shown once)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue.letters.models import LetterType, Mailbox

from .client import url_allowed
from .models import Peer


class PeerForm(forms.ModelForm):
    url = forms.URLField(label=gettext_lazy("对方接收地址"), max_length=300, required=False,
                         assume_scheme="https", help_text=Peer._meta.get_field("url").help_text)
    push_types = forms.MultipleChoiceField(
        label=gettext_lazy("推送的来信类型"), choices=LetterType.choices, required=False,
        widget=forms.CheckboxSelectMultiple, help_text=gettext_lazy("不选为全部类型。"))
    push_mailboxes = forms.ModelMultipleChoiceField(
        label=gettext_lazy("推送的信箱"), queryset=Mailbox.objects.exclude(kind=Mailbox.HOTLINE),
        required=False, widget=forms.CheckboxSelectMultiple, help_text=gettext_lazy("不选为全部信箱。"))

    class Meta:
        model = Peer
        fields = ["code", "name", "organisation", "url", "our_code", "enabled", "push_letters",
                  "push_types", "push_mailboxes"]

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["code"].disabled = True

    def clean_url(self):
        url = self.cleaned_data.get("url", "").strip()
        if url and not url_allowed(url):
            raise forms.ValidationError(_("对方接收地址须为 HTTPS 地址。"))
        return url

    def clean(self):
        data = super().clean()
        if data.get("push_letters") and not data.get("url"):
            self.add_error("url", _("推送本平台来信时须填写对方接收地址。"))
        return data

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["push_mailboxes"] = list(data.get("push_mailboxes") or [])
        data["push_types"] = list(data.get("push_types") or [])
        return data
