"""Background jobs of the agenda (see core/tasks.py for the rules of jobs)."""

from django_tasks import task


@task()
def send_registration_email(registration_id: int, position: int | None) -> bool:
    """The email that tells someone their registration is recorded (with `position`, their
    place in the waiting line when they joined). Returns whether it was sent."""
    from .services import registration_email_send

    return registration_email_send(registration_id, position)
