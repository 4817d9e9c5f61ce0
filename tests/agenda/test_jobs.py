"""`maillage agenda_jobs`: unconfirmed registrations released after 48 hours (the waiting list
moves up), reminders sent once; running it again does nothing more."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from maillage.agenda import services
from maillage.agenda.models import Registration
from tests.factories import PlaceFactory, UserFactory, make_manager

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _messages_in_english():
    with translation.override("en"):
        yield


@pytest.fixture
def place():
    return PlaceFactory(name="Fablab de Mende")


def make_event(place, *, starts_in: dt.timedelta, **fields):
    start = (timezone.now() + starts_in).replace(second=0, microsecond=0)
    (event,) = services.event_create(
        author=make_manager(place),
        place=place,
        title=fields.pop("title", "Atelier soudure"),
        category="workshop",
        start=start,
        end=start + 2 * HOUR,
        **fields,
    )
    return event


def run_jobs(django_capture_on_commit_callbacks) -> str:
    output = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("agenda_jobs", stdout=output)
    return output.getvalue()


def made_ago(registration: Registration, hours: float) -> None:
    Registration.objects.filter(pk=registration.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=hours)
    )


def test_unconfirmed_registrations_are_released_after_48_hours_and_the_list_moves_up(
    place, mailoutbox, django_capture_on_commit_callbacks
):
    event = make_event(place, starts_in=dt.timedelta(days=5), capacity=2)
    with django_capture_on_commit_callbacks(execute=True):
        stale = services.register(event=event, name="Robot", email="robot@example.org")
        recent = services.register(event=event, name="Zoé", email="zoe@example.org")
        member = UserFactory(email="camille@example.org", language="en")
        waiting = services.register(event=event, user=member)
    assert waiting.status == Registration.Status.WAITLISTED
    made_ago(stale, 49)
    made_ago(recent, 47)
    mailoutbox.clear()

    output = run_jobs(django_capture_on_commit_callbacks)
    assert "Unconfirmed registrations released: 1, reminders sent: 0." in output
    stale.refresh_from_db()
    recent.refresh_from_db()
    waiting.refresh_from_db()
    assert stale.status == Registration.Status.CANCELLED
    assert recent.status == Registration.Status.CONFIRMED, "47 hours: still time to confirm"
    assert waiting.status == Registration.Status.CONFIRMED and waiting.promoted_at is not None
    assert [message.to for message in mailoutbox] == [["camille@example.org"]]
    event.refresh_from_db()
    assert (event.confirmed_count, event.waitlisted_count) == (2, 0)

    output = run_jobs(django_capture_on_commit_callbacks)
    assert "Unconfirmed registrations released: 0, reminders sent: 0." in output
    assert len(mailoutbox) == 1


def test_a_confirmed_address_is_never_released(place, django_capture_on_commit_callbacks):
    event = make_event(place, starts_in=dt.timedelta(days=5))
    registration = services.register(event=event, name="Léa", email="lea@example.org")
    services.registration_confirm_email(registration)
    made_ago(registration, 100)
    assert "released: 0" in run_jobs(django_capture_on_commit_callbacks)
    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED


def test_reminders_are_sent_once_to_the_confirmed_participants_of_the_next_24_hours(
    place, mailoutbox, django_capture_on_commit_callbacks
):
    soon = make_event(place, starts_in=3 * HOUR, capacity=1, title="Atelier demain")
    later = make_event(place, starts_in=30 * HOUR, title="Atelier après-demain")
    cancelled = make_event(place, starts_in=5 * HOUR, title="Atelier annulé")
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = services.register(
            event=soon, user=UserFactory(email="ana@example.org", language="en")
        )
        services.register(event=soon, user=UserFactory(email="bob@example.org"))  # waitlisted
        services.register(event=later, user=UserFactory(email="chloe@example.org"))
        services.register(event=cancelled, user=UserFactory(email="dan@example.org"))
        services.event_cancel(event=cancelled, author=make_manager(place))
    mailoutbox.clear()

    output = run_jobs(django_capture_on_commit_callbacks)
    assert "reminders sent: 1." in output
    (reminder,) = mailoutbox
    assert reminder.to == ["ana@example.org"]
    assert "Atelier demain" in reminder.subject
    confirmed.refresh_from_db()
    assert confirmed.reminded_at is not None

    output = run_jobs(django_capture_on_commit_callbacks)
    assert "reminders sent: 0." in output
    assert len(mailoutbox) == 1


def test_the_reminder_window_can_be_widened(place, mailoutbox, django_capture_on_commit_callbacks):
    event = make_event(place, starts_in=30 * HOUR)
    with django_capture_on_commit_callbacks(execute=True):
        services.register(event=event, user=UserFactory(email="ana@example.org"))
    mailoutbox.clear()
    output = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("agenda_jobs", "--reminder-hours", "48", stdout=output)
    assert "reminders sent: 1." in output.getvalue()
    assert [message.to for message in mailoutbox] == [["ana@example.org"]]
