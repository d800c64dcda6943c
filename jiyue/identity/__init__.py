"""Citizens (公众用户), the central login page and single sign-on across every site host.

Public interface: `jiyue.identity.services` (register_export, export_user_data, delete_account)
and the URL names `identity:login`, `identity:logout`, `identity:register`, `identity:profile`.
"""
