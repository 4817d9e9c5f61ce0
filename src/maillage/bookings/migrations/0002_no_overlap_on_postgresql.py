"""No two held slots of one resource overlap: an exclusion constraint, on PostgreSQL only.

SQLite has no exclusion constraints; there `services.booking_create` checks for overlaps inside a
write transaction, which SQLite serialises (transaction_mode IMMEDIATE in settings).
"""

from django.db import migrations

CONSTRAINT = "occurrence_no_overlap"


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("bookings", "Occurrence")._meta.db_table
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"ALTER TABLE {table} ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist "
        "(resource_id WITH =, tstzrange(start, held_until, '[)') WITH &&) "
        "WHERE (status IN ('pending', 'confirmed'))"
    )


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("bookings", "Occurrence")._meta.db_table
    schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("bookings", "0001_initial")]

    operations = [migrations.RunPython(add_constraint, drop_constraint)]
