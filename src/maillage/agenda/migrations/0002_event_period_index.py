"""The agenda's time window read from an index, on PostgreSQL only.

"Events not over at `from` and starting before `to`" gives a B-tree no bound on where to start
reading (every event that started before `to` qualifies on `start` alone): a GiST index on the
period `tstzrange(start, "end")` answers the overlap `&&` with the window directly
(selectors.agenda_events uses it on PostgreSQL; bench/README.md has the figures). SQLite keeps
the two comparisons.
"""

from django.db import migrations

INDEX = "event_period_visible"


def add_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("agenda", "Event")._meta.db_table
    schema_editor.execute(
        f'CREATE INDEX {INDEX} ON {table} USING gist (tstzrange(start, "end")) '
        "WHERE (status IN ('published', 'cancelled'))"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("agenda", "0001_initial")]

    operations = [migrations.RunPython(add_index, drop_index)]
