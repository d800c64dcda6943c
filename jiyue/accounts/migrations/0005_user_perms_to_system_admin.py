"""三员分立: managing staff accounts is the 系统管理员's, no longer the 安全管理员's
(services.PLATFORM_MODEL_PERMS). Existing grants' Wagtail groups are brought in line."""

from django.db import migrations

CODENAMES = ["add_user", "change_user", "view_user"]


def move_user_permissions(apps, schema_editor):
    RoleGrant = apps.get_model("accounts", "RoleGrant")
    Permission = apps.get_model("auth", "Permission")
    perms = list(Permission.objects.filter(content_type__app_label="accounts",
                                           content_type__model="user", codename__in=CODENAMES))
    if not perms:  # a new database: no grants yet either
        return
    for grant in RoleGrant.objects.filter(role="security_admin", group__isnull=False).select_related("group"):
        grant.group.permissions.remove(*perms)
    for grant in RoleGrant.objects.filter(role="system_admin", group__isnull=False).select_related("group"):
        grant.group.permissions.add(*perms)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_password_history"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(move_user_permissions, migrations.RunPython.noop)]
