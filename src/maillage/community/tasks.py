"""Background jobs of the community exchange (see core/tasks.py for the rules of jobs)."""

from django_tasks import task


@task()
def tell_matching_authors(post_id: int) -> int:
    """Tell the authors of the posts matching the new skills post `post_id` (found when the job
    runs, so a post closed or hidden meanwhile tells nobody). Returns how many were told."""
    from .exchange import matching_authors_told

    return matching_authors_told(post_id)
