from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def audit_retention(app_configs, **kwargs):
    """JIYUE_AUDIT_RETENTION_DAYS below 180 days (the 等保 minimum) is a configuration error."""
    from .archive import retention_days

    try:
        retention_days()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="jiyue.audit.E001")]
    return []
