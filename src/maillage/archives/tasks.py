"""The background job that writes a place archive (see core/tasks.py for the rules of jobs)."""

from django_tasks import task


@task()
def build_archive(archive_id: int) -> str:
    """Write the file of the PlaceArchive `archive_id`; returns its status afterwards."""
    from .models import PlaceArchive
    from .services import archive_build

    archive_build(archive_id)
    return PlaceArchive.objects.filter(pk=archive_id).values_list("status", flat=True).first() or ""
