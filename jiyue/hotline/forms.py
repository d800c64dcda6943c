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
    push_mode = forms.ChoiceField(
        label=Peer._meta.get_field("push_mode").verbose_name, choices=Peer.PUSH_MODES, required=False,
        initial=Peer.RECORD, widget=forms.RadioSelect, help_text=Peer._meta.get_field("push_mode").help_text)
    key = forms.CharField(
        label=gettext_lazy("对方提供的共享密钥"), required=False, max_length=200, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=gettext_lazy("两个平台互相对接时，一方生成密钥，另一方在此填入同一密钥。留空：新增时由本平台生成并显示一次，"
                               "修改时密钥不变。"))
    push_types = forms.MultipleChoiceField(
        label=gettext_lazy("推送的来信类型"), choices=LetterType.choices, required=False,
        widget=forms.CheckboxSelectMultiple, help_text=gettext_lazy("不选为全部类型。"))
    push_mailboxes = forms.ModelMultipleChoiceField(
        label=gettext_lazy("推送的信箱"), queryset=Mailbox.objects.exclude(kind=Mailbox.HOTLINE),
        required=False, widget=forms.CheckboxSelectMultiple, help_text=gettext_lazy("不选为全部信箱。"))

    class Meta:
        model = Peer
        fields = ["code", "name", "organisation", "url", "our_code", "enabled", "push_letters",
                  "push_mode", "push_types", "push_mailboxes"]

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["code"].disabled = True

    def clean_url(self):
        url = self.cleaned_data.get("url", "").strip()
        if url and not url_allowed(url):
            raise forms.ValidationError(_("对方接收地址须为 HTTPS 地址。"))
        return url

    def clean_push_mode(self):
        return self.cleaned_data.get("push_mode") or Peer.RECORD

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
