"""Groups "Account managers" and "Support" with the permissions each needs (README)."""

from django.db import migrations

ACCOUNT_MANAGERS = [
    ("projects", "view_project"),
    ("creatives", "view_contentcontainer"),
    ("creatives", "view_adscontent"),
    ("creatives", "view_leaderboardsnapshot"),
    ("creatives", "view_scoresample"),
    ("creatives", "change_override"),
]
SUPPORT = ACCOUNT_MANAGERS + [
    ("projects", "view_all_projects"),
    ("projects", "sync_project"),
    ("projects", "change_project"),
    ("projects", "view_syncrun"),
    ("projects", "view_synclease"),
    ("creatives", "view_overrideaudit"),
]


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for config in apps.get_app_configs():
        config.models_module = True
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in (("Account managers", ACCOUNT_MANAGERS), ("Support", SUPPORT)):
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in perms:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=["Account managers", "Support"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_initial"),
        ("creatives", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
