from django.db import migrations


def support_sees_webhooks(apps, schema_editor):
    """Support gets the webhook events and the pending re-fetches in admin (read-only: what
    arrived from Layers and what became of it)."""
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("webhooks")
    config.models_module = True
    create_permissions(config, verbosity=0, apps=apps)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    views = Permission.objects.filter(
        content_type__app_label="webhooks",
        codename__in=["view_webhookevent", "view_pendingrefetch"],
    )
    for group in Group.objects.filter(name="Support"):
        group.permissions.add(*views)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("projects", "0002_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(support_sees_webhooks, migrations.RunPython.noop)]
