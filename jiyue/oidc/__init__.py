"""jiyue as an OpenID Connect provider (统一身份认证) for the platform's linked systems.

Built on django-oauth-toolkit: authorization code flow with PKCE (S256 only), refresh tokens
with rotation and replay detection, userinfo, RP-initiated logout, a Chinese consent screen,
id_tokens signed RS256 (`keys.py`). Linked systems are registered by the 系统管理员 in the
admin (对接系统, `admin_views.py`). Public interface: `services` (register, update,
enable/disable, reset secret, `subject_for(user)`, `revoke_user_tokens(user)`).

This package is imported by settings (for `keys`): keep it free of Django imports.
"""
