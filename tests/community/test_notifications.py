"""News of the community exchange: at once, in a daily or weekly digest, or only on the site, as
each person chooses; urgent news always at once; always in the recipient's language."""

import datetime as dt
from io import StringIO

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from maillage.accounts.services import api_token_create
from maillage.community import services
from maillage.community.models import Notification, NotificationSettings
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SUBJECT = gettext_lazy("Your booking is confirmed")  # an existing message, translated everywhere


def _news(user, *, urgent=False, text="Une réponse à votre offre"):
    return services.notify(
        user,
        subject=SUBJECT,
        template="community/email/hidden.txt",
        context={"summary": text, "reason": "—", "place": {"name": "POLeN"}},
        url="/community/",
        urgent=urgent,
    )


def _choose(user, frequency):
    services.notification_settings_save(user=user, frequency=frequency, notify_matches=True)


def test_news_goes_out_at_once_by_default_in_the_recipient_language(
    django_capture_on_commit_callbacks,
):
    user = UserFactory(language="en")
    with django_capture_on_commit_callbacks(execute=True):
        notification = _news(user)
    assert notification.sent_at is not None
    (message,) = mail.outbox
    assert message.to == [user.email]
    assert "Your booking is confirmed" in message.subject
    assert "Une réponse à votre offre" in message.body


def test_a_digest_reader_gets_nothing_at_once_but_urgent_news(django_capture_on_commit_callbacks):
    user = UserFactory(language="fr")
    _choose(user, "daily")
    with django_capture_on_commit_callbacks(execute=True):
        waiting = _news(user)
        urgent = _news(user, urgent=True)
    assert waiting.sent_at is None and urgent.sent_at is not None
    assert len(mail.outbox) == 1


def test_never_keeps_news_on_the_site_only(django_capture_on_commit_callbacks):
    user = UserFactory()
    _choose(user, "never")
    with django_capture_on_commit_callbacks(execute=True):
        _news(user)
    assert mail.outbox == []
    assert services.send_digests() == 0
    assert Notification.objects.filter(user=user).count() == 1


def test_the_daily_digest_gathers_news_once_a_day(django_capture_on_commit_callbacks):
    user = UserFactory(language="en")
    _choose(user, "daily")
    _news(user, text="Première nouvelle")
    _news(user, text="Deuxième nouvelle")
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_digests(now=now) == 1
    (digest,) = mail.outbox
    assert "2 news from the community exchange" in digest.subject
    assert "Première nouvelle" in digest.body and "Deuxième nouvelle" in digest.body
    assert "/community/notifications/" in digest.body
    assert not Notification.objects.filter(sent_at__isnull=True).exists()

    _news(user, text="Troisième")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_digests(now=now + dt.timedelta(hours=5)) == 0
        assert services.send_digests(now=now + dt.timedelta(hours=23, minutes=45)) == 1
    assert "Troisième" in mail.outbox[-1].body


def test_the_weekly_digest_waits_a_week():
    user = UserFactory()
    _choose(user, "weekly")
    now = timezone.now()
    _news(user)
    assert services.send_digests(now=now) == 1
    _news(user)
    assert services.send_digests(now=now + dt.timedelta(days=3)) == 0
    assert services.send_digests(now=now + dt.timedelta(days=7)) == 1


def test_no_digest_without_news():
    user = UserFactory()
    _choose(user, "daily")
    assert services.send_digests() == 0
    assert NotificationSettings.objects.get(user=user).last_digest_at is None


def test_an_unknown_frequency_is_refused():
    with pytest.raises(ValidationError):
        services.notification_settings_save(
            user=UserFactory(), frequency="hourly", notify_matches=True
        )
    assert not NotificationSettings.objects.exists()


def test_the_jobs_command_sends_due_digests_and_is_idempotent(django_capture_on_commit_callbacks):
    user = UserFactory()
    _choose(user, "daily")
    _news(user)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("community_jobs", stdout=out)
        call_command("community_jobs", stdout=StringIO())
    assert len(mail.outbox) == 1
    assert "1" in out.getvalue()


def test_the_news_page_lists_news_saves_the_choice_and_marks_read(client):
    user = UserFactory(language="en")
    _news(user, text="Un message pour moi")
    client.force_login(user)
    page = client.get(reverse("community:notifications"))
    assert page.status_code == 200
    assert "Un message pour moi" in page.content.decode()
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()

    saved = client.post(
        reverse("community:notifications"), {"frequency": "weekly", "notify_matches": ""}
    )
    assert saved.status_code == 302
    preferences = NotificationSettings.objects.get(user=user)
    assert preferences.frequency == "weekly" and preferences.notify_matches is False

    refused = client.post(reverse("community:notifications"), {"frequency": "hourly"})
    assert refused.status_code == 400
    assert NotificationSettings.objects.get(user=user).frequency == "weekly"


def test_other_people_news_is_never_shown(client):
    owner, other = UserFactory(), UserFactory()
    _news(owner, text="Secret de Roald")
    client.force_login(other)
    assert "Secret de Roald" not in client.get(reverse("community:notifications")).content.decode()


def test_api_settings_and_news(client):
    user = UserFactory()
    _news(user, text="Nouvelle API")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=user)[1]}"}
    assert client.get("/api/v1/community/me/notification-settings", **headers).json() == {
        "frequency": "immediate",
        "notify_matches": True,
    }
    updated = client.put(
        "/api/v1/community/me/notification-settings",
        {"frequency": "daily", "notify_matches": False},
        content_type="application/json",
        **headers,
    )
    assert updated.status_code == 200 and updated.json()["frequency"] == "daily"
    refused = client.put(
        "/api/v1/community/me/notification-settings",
        {"frequency": "hourly"},
        content_type="application/json",
        **headers,
    )
    assert refused.status_code == 400
    news = client.get("/api/v1/community/me/notifications", **headers).json()
    assert news["count"] == 1 and news["results"][0]["read"] is False
    assert client.get("/api/v1/community/me/notifications").status_code == 401


def test_unconfirmed_mentoring_questions_are_deleted_after_a_week():
    from maillage.community import mentoring
    from maillage.community.models import MentoringRequest
    from tests.community.factories import mentoring_request_at

    stale = mentoring_request_at(confirm=False, email="old@example.org")
    fresh = mentoring_request_at(confirm=False, email="new@example.org")
    confirmed = mentoring_request_at(email="sure@example.org")
    week_ago = timezone.now() - dt.timedelta(days=mentoring.UNCONFIRMED_DAYS, minutes=1)
    MentoringRequest.objects.filter(pk__in=[stale.pk, confirmed.pk]).update(created_at=week_ago)

    assert mentoring.purge_unconfirmed() == 1
    assert set(MentoringRequest.objects.values_list("pk", flat=True)) == {fresh.pk, confirmed.pk}
    out = StringIO()
    call_command("community_jobs", stdout=out)
    assert mentoring.purge_unconfirmed() == 0
