"""The archive page: who sees it, starting an export, its progress, the download (audited) and
the expiry of old archives."""

import datetime as dt
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from maillage.accounts.models import PlaceRole
from maillage.archives import services
from maillage.archives.models import PlaceArchive
from maillage.core.models import AuditEntry
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db


def says(response, message: str) -> bool:
    """The page shows `message` in the language it was rendered in."""
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        text = translation.gettext(message)
    page = response.content.decode()
    return text in page or escape(text) in page


@pytest.fixture
def place():
    place = PlaceFactory(slug="la-fabrique")
    place.networks.add(NetworkFactory(slug="lozere"))
    return place


@pytest.fixture
def manager(place):
    return make_manager(place)


def page(place):
    return reverse("archives:place", kwargs={"slug": place.slug})


def role(place, name):
    user = UserFactory()
    PlaceRole.objects.create(user=user, place=place, role=name)
    return user


def test_anonymous_people_are_asked_to_sign_in(client, place):
    response = client.get(page(place))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("who", ["staff", "member", "other manager", "unrelated"])
def test_nobody_but_the_managers_and_coordinators_knows_the_page(client, place, who):
    user = {
        "staff": lambda: role(place, "staff"),
        "member": lambda: role(place, "resident"),
        "other manager": lambda: make_manager(PlaceFactory()),
        "unrelated": UserFactory,
    }[who]()
    client.force_login(user)
    assert client.get(page(place)).status_code == 404
    assert client.post(page(place)).status_code == 404
    assert not PlaceArchive.objects.exists()


def test_the_coordinator_of_its_network_may_export(client, place):
    client.force_login(make_coordinator(place.networks.get()))
    assert client.get(page(place)).status_code == 200


def test_an_export_runs_in_the_background_and_is_then_downloaded(
    client, place, manager, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    response = client.get(page(place))
    assert response.status_code == 200
    assert says(response, "No export yet.")
    assert b'http-equiv="refresh"' not in response.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page(place))
    assert response.status_code == 302
    archive = PlaceArchive.objects.get()
    assert archive.status == PlaceArchive.Status.DONE
    assert archive.requested_by == manager
    assert archive.progress == 100
    assert archive.counts["place"] == 1
    assert archive.counts["place_roles"] == 1
    assert archive.expires_at - archive.finished_at == dt.timedelta(days=7)
    assert AuditEntry.objects.filter(action="place.archive.request", place=place).count() == 1

    response = client.get(page(place))
    download = reverse("archives:download", kwargs={"slug": place.slug, "pk": archive.pk})
    assert download.encode() in response.content
    response = client.get(download)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body[:2] == b"PK"
    assert AuditEntry.objects.filter(action="place.archive.download", actor=manager).count() == 1


def test_a_running_export_refreshes_the_page_and_cannot_be_started_twice(
    client, place, manager, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(page(place))
    archive = PlaceArchive.objects.get()
    PlaceArchive.objects.filter(pk=archive.pk).update(
        status=PlaceArchive.Status.RUNNING, progress=40, step="events"
    )
    response = client.get(page(place))
    assert b'http-equiv="refresh"' in response.content
    assert b'value="40"' in response.content
    response = client.post(page(place), follow=True)
    assert says(response, "An export of this place is already under way.")
    assert PlaceArchive.objects.count() == 1
    download = reverse("archives:download", kwargs={"slug": place.slug, "pk": archive.pk})
    assert client.get(download).status_code == 404


def test_the_job_records_progress_then_the_file(place, manager):
    archive = PlaceArchive.objects.create(place=place, requested_by=manager)
    seen = []
    original = services._progress

    def spy(record):
        report = original(record)

        def both(step, percent):
            report(step, percent)
            seen.append(
                PlaceArchive.objects.values_list("status", "progress", "step").get(pk=record.pk)
            )

        return both

    services._progress = spy
    try:
        services.archive_build(archive.pk)
    finally:
        services._progress = original
    assert seen[0] == ("running", 0, "place")
    assert [percent for _status, percent, _step in seen] == sorted(
        percent for _s, percent, _t in seen
    )
    assert ("running", 100, "done") in seen
    archive.refresh_from_db()
    assert archive.is_ready
    with zipfile.ZipFile(services.archive_path(archive)) as zipped:
        assert "manifest.json" in zipped.namelist()
    # A job run twice does nothing the second time.
    assert services.archive_build(archive.pk) is None


def test_a_failed_export_says_so_and_leaves_no_file(place, manager, monkeypatch, tmp_path):
    archive = PlaceArchive.objects.create(place=place, requested_by=manager)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(services, "export_place", broken)
    assert services.archive_build(archive.pk) is None
    archive.refresh_from_db()
    assert archive.status == PlaceArchive.Status.FAILED
    assert archive.error == "disk full"
    assert not list(services.archive_root().glob("*.zip"))


def test_archives_expire_after_their_days_and_dead_jobs_are_closed(place, manager, client):
    archive = PlaceArchive.objects.create(place=place, requested_by=manager)
    services.archive_build(archive.pk)
    archive.refresh_from_db()
    path = services.archive_path(archive)
    stuck = PlaceArchive.objects.create(place=place, status=PlaceArchive.Status.RUNNING)
    PlaceArchive.objects.filter(pk=stuck.pk).update(
        created_at=timezone.now() - dt.timedelta(days=1)
    )

    assert services.archives_expire(now=archive.expires_at - dt.timedelta(minutes=1)) == 0
    assert path.exists()
    assert services.archives_expire(now=archive.expires_at) == 1
    archive.refresh_from_db()
    assert archive.status == PlaceArchive.Status.EXPIRED
    assert not path.exists()
    stuck.refresh_from_db()
    assert stuck.status == PlaceArchive.Status.FAILED
    client.force_login(manager)
    download = reverse("archives:download", kwargs={"slug": place.slug, "pk": archive.pk})
    assert client.get(download).status_code == 404
    assert services.archives_expire(now=archive.expires_at) == 0


def test_a_download_of_another_place_is_not_found(client, place, manager):
    other = PlaceFactory()
    archive = PlaceArchive.objects.create(place=other)
    services.archive_build(archive.pk)
    client.force_login(manager)
    for slug in (place.slug, other.slug):
        url = reverse("archives:download", kwargs={"slug": slug, "pk": archive.pk})
        assert client.get(url).status_code == 404
