from __future__ import annotations

import re

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from jiyue.accounts.models import User

from . import codes

ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"
ID_RE = re.compile(r"^\d{17}[\dX]$")


def validate_id_number(value: str) -> None:
    """A resident identity card number (GB 11643-1999): 18 characters with its check digit."""
    if not ID_RE.match(value) or ID_CHECK[sum(int(d) * w for d, w in zip(value, ID_WEIGHTS)) % 11] != value[-1]:
        raise ValidationError(_("请输入有效的 18 位居民身份证号码。"))


class Form(forms.Form):
    """Chinese labels take no trailing colon."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class LoginForm(Form):
    identifier = forms.CharField(label=_("账号"), max_length=254,
                                 help_text=_("用户名、电子邮箱或手机号码"),
                                 widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(label=_("密码"), max_length=128, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class SecondFactorForm(Form):
    code = forms.CharField(label=_("动态验证码"), max_length=10,
                           help_text=_("请输入身份验证器应用中显示的 6 位数字"),
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                         "inputmode": "numeric", "autofocus": True}))


class RecipientForm(Form):
    """An e-mail address or a mobile number to send a code to."""

    recipient = forms.CharField(label=_("电子邮箱或手机号码"), max_length=254,
                                widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))

    def __init__(self, *args, channel: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel
        if channel == "email":
            self.fields["recipient"].label = _("新的电子邮箱")
            self.fields["recipient"].widget.attrs["autocomplete"] = "email"
        elif channel == "sms":
            self.fields["recipient"].label = _("新的手机号码")
            self.fields["recipient"].widget.attrs.update(autocomplete="tel", inputmode="tel")

    def clean_recipient(self):
        raw = self.cleaned_data["recipient"].strip()
        channel = self.channel or codes.channel_of(raw)
        if self.channel == "sms" and "@" in raw:
            raise ValidationError(_("请输入有效的 11 位手机号码。"))
        self.cleaned_data["channel"] = channel
        return codes.normalise(channel, raw)


def _code_field():
    return forms.CharField(label=_("验证码"), max_length=10,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                         "inputmode": "numeric", "autofocus": True}))


class CodeForm(Form):
    code = _code_field()


class NewPasswordForm(Form):
    """A code and a new password, checked by the platform's password validators."""

    code = _code_field()
    password1 = forms.CharField(label=_("设置密码"), max_length=128, strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("确认密码"), max_length=128, strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["password1"].help_text = password_validation.password_validators_help_text_html()

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("两次输入的密码不一致。"))
        elif p1:
            try:
                password_validation.validate_password(p1, self.user)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


class ChangePasswordForm(NewPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["code"]
        self.fields = {"old_password": forms.CharField(
            label=_("当前密码"), max_length=128, strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})), **self.fields}

    def clean_old_password(self):
        value = self.cleaned_data["old_password"]
        if not self.user.check_password(value):
            raise ValidationError(_("当前密码不正确。"))
        return value


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["real_name", "id_number", "address"]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["real_name"].max_length = 40
        self.fields["real_name"].widget.attrs.update(autocomplete="name", maxlength=40)
        self.fields["id_number"].widget.attrs.update(autocomplete="off", maxlength=18)
        self.fields["address"] = forms.CharField(label=_("联系地址"), max_length=200, required=False,
                                                 widget=forms.TextInput(attrs={"autocomplete": "street-address"}))
        if self.instance.real_name_level == User.REAL_NAME_VERIFIED:
            # Verified identity details are changed by staff, not by the person.
            for name in ("real_name", "id_number"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("已实名认证，如需修改请联系网站管理员。")

    def clean_real_name(self):
        value = self.cleaned_data["real_name"].strip()
        if any(ord(c) < 32 or c in "<>" for c in value):
            raise ValidationError(_("姓名中含有不允许的字符。"))
        return value

    def clean_id_number(self):
        value = self.cleaned_data["id_number"].strip().upper()
        if value:
            validate_id_number(value)
        return value

    def clean_address(self):
        value = self.cleaned_data["address"].strip()
        if any(ord(c) < 32 for c in value):
            raise ValidationError(_("地址中含有不允许的字符。"))
        return value


class DeleteAccountForm(Form):
    password = forms.CharField(label=_("当前密码"), max_length=128, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    confirm = forms.BooleanField(label=_("我已下载个人数据，确认注销账号（不可恢复）"))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        value = self.cleaned_data["password"]
        if not self.user.check_password(value):
            raise ValidationError(_("密码不正确。"))
        return value
