"""Background jobs (Django's tasks framework, docs/operations.md "Background jobs").

A job receives only plain, JSON-serialisable values. Most receive what the request decided, worked
out before they are enqueued (an email rendered in its recipient's language), so that a job run
later by a worker sends exactly that; a job that reads rows by id instead (agenda, community and
archives jobs) does so to spare the request slow work, and checks the row still stands.

Enqueue jobs from `transaction.on_commit(..., robust=True)`: a job must never act on a change that
was then rolled back, and a queue that is down must not turn a change already recorded into an
error page.
"""

from django.core.mail import send_mail
from django_tasks import task


@task()
def send_email(subject: str, body: str, recipients: list[str]) -> int:
    """Send one plain-text email, already rendered in its recipients' language."""
    return send_mail(subject, body, None, recipients)
