"""`{% load oidc_upstream %}{% upstream_login_button next %}` on the central login page: the
"使用省统一身份认证登录" link, shown only when an upstream provider is configured."""

from django import template

register = template.Library()


@register.inclusion_tag("oidc/upstream_button.html")
def upstream_login_button(next_url=""):
    from jiyue.oidc import upstream

    return {"enabled": upstream.enabled(),
            "url": upstream.login_url(next_url) if upstream.enabled() else ""}
