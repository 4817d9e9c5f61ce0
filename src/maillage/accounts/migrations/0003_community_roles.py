"""The single "member" role becomes the three community roles of seed 002; former members are
residents. Going back folds residents, nomads and visitors into "member" again."""

from django.db import migrations, models


def members_become_residents(apps, schema_editor):
    apps.get_model("accounts", "PlaceRole").objects.filter(role="member").update(role="resident")


def community_becomes_members(apps, schema_editor):
    apps.get_model("accounts", "PlaceRole").objects.filter(
        role__in=["resident", "nomad", "visitor"]
    ).update(role="member")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="placerole", name="place_role_known"),
        migrations.AlterField(
            model_name="placerole",
            name="role",
            field=models.CharField(
                choices=[
                    ("manager", "manager"),
                    ("staff", "staff"),
                    ("resident", "resident"),
                    ("nomad", "nomad"),
                    ("visitor", "visitor"),
                ],
                max_length=16,
                verbose_name="role",
            ),
        ),
        migrations.RunPython(members_become_residents, community_becomes_members),
        migrations.AddConstraint(
            model_name="placerole",
            constraint=models.CheckConstraint(
                condition=models.Q(("role__in", ["manager", "staff", "resident", "nomad", "visitor"])),
                name="place_role_known",
            ),
        ),
    ]
