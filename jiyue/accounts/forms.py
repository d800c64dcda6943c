"""Forms of the staff account screens (系统管理员) and of the staff security pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.users.forms import UserCreationForm, UserEditForm

from .models import User

ACCOUNT_FIELDS = ["real_name", "organisation", "email"]


class _StaffAccountFormMixin:
    """No superuser flag, no groups (roles come from 人员授权), no first/last name (real_name)."""

    def _tidy(self):
        for name in ("first_name", "last_name", "is_superuser", "groups"):
            self.fields.pop(name, None)
        if "email" in self.fields:
            self.fields["email"].required = False
            self.fields["email"].label = _("电子邮箱")
        if "organisation" in self.fields:
            self.fields["organisation"].required = True
        for name, label in (("password1", _("密码")), ("password2", _("确认密码"))):
            if name in self.fields:
                self.fields[name].label = label
        if "password2" in self.fields:
            self.fields["password2"].help_text = _("再次输入同一密码。")
        if "is_active" in self.fields:
            self.fields["is_active"].label = _("启用")
            self.fields["is_active"].help_text = _("取消勾选即停用账号：停用的账号不能登录。")

    def clean_real_name(self):
        value = (self.cleaned_data.get("real_name") or "").strip()
        if not value:
            raise forms.ValidationError(_("请填写姓名。"))
        return value


class StaffUserCreationForm(_StaffAccountFormMixin, UserCreationForm):
    first_name = None
    last_name = None
    is_superuser = None

    class Meta(UserCreationForm.Meta):
        model = User
        fields = [User.USERNAME_FIELD, *ACCOUNT_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tidy()

    def save(self, commit=True):
        user = super().save(commit=False)
        user.kind = User.KIND_STAFF
        user.is_superuser = False
        user.is_staff = False
        if commit:
            user.save()
        return user


class StaffUserEditForm(_StaffAccountFormMixin, UserEditForm):
    first_name = None
    last_name = None
    is_superuser = None

    class Meta(UserEditForm.Meta):
        model = User
        fields = [User.USERNAME_FIELD, *ACCOUNT_FIELDS, "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tidy()
        if "password1" in self.fields:
            self.fields["password1"].help_text = _("留空则不修改。")


class OtpCodeForm(forms.Form):
    code = forms.CharField(label=_("动态验证码"), max_length=8, min_length=6,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                         "inputmode": "numeric",
                                                         "autofocus": True}),
                           help_text=_("身份验证器应用中显示的 6 位数字。"))

    def clean_code(self):
        code = "".join((self.cleaned_data.get("code") or "").split())
        if not code.isdigit():
            raise forms.ValidationError(_("验证码由数字组成。"))
        return code
