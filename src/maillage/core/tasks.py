"""Background jobs (Django's tasks framework, docs/operations.md "Background jobs").

A job receives only plain, JSON-serialisable values: whatever depends on the database or on a
language is worked out before it is enqueued, so that a job run later by a worker sends exactly
what the request decided. Enqueue jobs from `transaction.on_commit(..., robust=True)`: a job must
never act on a change that was then rolled back, and a queue that is down must not turn a change
already recorded into an error page.
"""

from django.core.mail import send_mail
from django_tasks import task


@task()
def send_email(subject: str, body: str, recipients: list[str]) -> int:
    """Send one plain-text email, already rendered in its recipients' language."""
    return send_mail(subject, body, None, recipients)
