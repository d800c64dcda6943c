from django import forms
from django.utils.translation import gettext_lazy as _

from .models import LinkedSystem

URI_HELP = _("每行一个完整网址。必须使用 https；只有本机地址（localhost、127.0.0.1）可以使用 http。"
             "地址须与对接系统发出的完全一致，不能使用通配符。")


class LinkedSystemForm(forms.Form):
    name = forms.CharField(label=_("系统名称"), max_length=255)
    client_id = forms.CharField(label=_("客户端标识（client_id）"), max_length=100, required=False,
                                help_text=_("字母、数字、点、下划线或连字符；留空则自动生成。登记后不能修改。"))
    kind = forms.ChoiceField(label=_("系统类型"), choices=LinkedSystem.KINDS)
    redirect_uris = forms.CharField(label=_("回调地址"), widget=forms.Textarea(attrs={"rows": 3}),
                                    help_text=URI_HELP)
    post_logout_redirect_uris = forms.CharField(label=_("退出后跳转地址"), required=False,
                                                widget=forms.Textarea(attrs={"rows": 2}),
                                                help_text=URI_HELP)
    confidential = forms.BooleanField(label=_("机密客户端（服务器端系统，持有密钥）"), required=False,
                                      initial=True,
                                      help_text=_("浏览器或手机应用中运行、无法保管密钥的系统不勾选（公开客户端，仅用 PKCE）。"))
    skip_consent = forms.BooleanField(label=_("免授权确认（平台信任的系统）"), required=False,
                                      help_text=_("勾选后，用户登录该系统时不再显示授权确认页。"))
    description = forms.CharField(label=_("说明"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}),
                                  help_text=_("显示在授权确认页上，说明该系统的用途。"))
    contact = forms.CharField(label=_("对接联系人"), max_length=100, required=False)

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["client_id"].disabled = True
            self.fields["client_id"].help_text = _("登记后不能修改。")
            self.fields["confidential"].disabled = True
            self.fields["confidential"].help_text = _("登记后不能修改，如需更改请重新登记。")

    def apply_errors(self, exc):
        """Put a services ValidationError on the fields it names."""
        for field, errs in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
            self.add_error(field if field in self.fields else None, errs)

    @staticmethod
    def initial_for(system) -> dict:
        app = system.application
        return {"name": app.name, "client_id": app.client_id, "kind": system.kind,
                "redirect_uris": "\n".join(app.redirect_uris.split()),
                "post_logout_redirect_uris": "\n".join(app.post_logout_redirect_uris.split()),
                "confidential": app.client_type == app.CLIENT_CONFIDENTIAL,
                "skip_consent": app.skip_authorization, "description": system.description,
                "contact": system.contact}
