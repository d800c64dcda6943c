"""The public web: the theme (Jinja2 templates and assets), elder mode, the dynamic pages under
the reserved prefix `/_/` on every site host, and serving published files."""
