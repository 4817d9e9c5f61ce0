"""The place manager's booking pages: resources, their forms, and booking requests."""

import datetime as dt
import io
import zoneinfo

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from maillage.accounts.models import PlaceRole
from maillage.bookings.models import Booking, Occurrence, Resource, ResourceHours, ResourceTerm
from maillage.bookings.services import booking_create
from maillage.core.models import AuditEntry
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The assertions read the English messages; the site's default language is French."""
    with translation.override("en"):
        yield


@pytest.fixture
def world():
    """Network N holds place A; place B is elsewhere. Each person reads the pages in English."""
    network = NetworkFactory()
    place_a, place_b = PlaceFactory(name="Fablab A"), PlaceFactory(name="Coworking B")
    place_a.networks.add(network)
    member = UserFactory(language="en")
    PlaceRole.objects.create(user=member, place=place_a, role=PlaceRole.Role.RESIDENT)
    staff = UserFactory(language="en")
    PlaceRole.objects.create(user=staff, place=place_a, role=PlaceRole.Role.STAFF)
    return {
        "a": place_a,
        "b": place_b,
        "manager_a": make_manager(place_a, language="en"),
        "manager_b": make_manager(place_b, language="en"),
        "coordinator": make_coordinator(network, language="en"),
        "member_a": member,
        "staff_a": staff,
    }


def make_resource(place, **kwargs) -> Resource:
    kwargs = {"name": "Salle Causse", "kind": "meeting_room", **kwargs}
    return Resource.objects.create(place=place, **kwargs)


def next_weekday(weekday: int, hour: int, weeks: int = 1) -> dt.datetime:
    today = timezone.now().astimezone(PARIS).date()
    days = (weekday - today.weekday()) % 7 + 7 * weeks
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour), PARIS)


def pending_booking(resource, booker=None, **kwargs) -> Booking:
    resource.requires_approval = True
    resource.save()
    start = kwargs.pop("start", next_weekday(3, 14))
    return booking_create(
        resource=resource,
        booker=booker or UserFactory(),
        start=start,
        end=start + dt.timedelta(hours=2),
        **kwargs,
    )


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2400, 1200), (10, 90, 120)).save(out, "PNG")
    return out.getvalue()


def resource_data(**extra) -> dict:
    """What a browser sends for a new meeting room with no own hours."""
    data = {
        "name": "Salle du Causse",
        "kind": "meeting_room",
        "description": "Grande table, vue sur le causse.",
        "capacity": "8",
        "price_info": "",
        "min_minutes": "30",
        "max_minutes": "600",
        "horizon_days": "90",
        "buffer_minutes": "0",
        "cancel_deadline_hours": "0",
        "audience": "public",
        "training": "",
        "is_active": "on",
    }
    data.update(extra)
    return data


PAGES = ["manage_resources", "resource_new", "resource_edit", "requests", "trainings"]


def page_url(name, world, place_key="a") -> str:
    place = world[place_key]
    kwargs = {"slug": place.slug}
    if name == "resource_edit":
        kwargs["pk"] = make_resource(place).pk
    return reverse(f"bookings:{name}", kwargs=kwargs)


class TestWhoMayOpen:
    @pytest.mark.parametrize("name", PAGES)
    @pytest.mark.parametrize("role", ["manager_a", "coordinator"])
    def test_managers_and_coordinators_of_the_place_open_its_pages(self, client, world, name, role):
        client.force_login(world[role])
        assert client.get(page_url(name, world)).status_code == 200

    @pytest.mark.parametrize("name", PAGES)
    @pytest.mark.parametrize("role", ["manager_b", "member_a", "staff_a"])
    def test_anybody_else_signed_in_finds_nothing(self, client, world, name, role):
        client.force_login(world[role])
        assert client.get(page_url(name, world)).status_code == 404

    @pytest.mark.parametrize("name", PAGES)
    def test_anonymous_people_are_asked_to_log_in(self, client, world, name):
        url = page_url(name, world)
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
        assert "next=" in response["Location"]

    def test_a_superuser_opens_them(self, client, world):
        client.force_login(UserFactory(is_superuser=True))
        assert client.get(page_url("manage_resources", world)).status_code == 200

    def test_a_resource_of_another_place_is_not_found_through_this_one(self, client, world):
        other = make_resource(world["b"])
        client.force_login(world["manager_a"])
        url = reverse("bookings:resource_edit", kwargs={"slug": world["a"].slug, "pk": other.pk})
        assert client.get(url).status_code == 404
        assert client.post(url, resource_data(name="Volée")).status_code == 404
        other.refresh_from_db()
        assert other.name == "Salle Causse"

    def test_an_unknown_place_is_not_found(self, client, world):
        client.force_login(world["manager_a"])
        url = reverse("bookings:manage_resources", kwargs={"slug": "nowhere"})
        assert client.get(url).status_code == 404

    def test_the_place_page_links_managers_to_these_pages(self, client, world):
        client.force_login(world["manager_a"])
        page = client.get(world["a"].get_absolute_url()).content.decode()
        for name in ("manage_resources", "requests", "trainings"):
            assert reverse(f"bookings:{name}", kwargs={"slug": world["a"].slug}) in page

    def test_the_place_page_shows_no_such_links_to_members(self, client, world):
        client.force_login(world["member_a"])
        page = client.get(world["a"].get_absolute_url()).content.decode()
        assert reverse("bookings:manage_resources", kwargs={"slug": world["a"].slug}) not in page


class TestResourceList:
    def test_lists_active_and_inactive_resources_with_their_upcoming_bookings(self, client, world):
        place = world["a"]
        room = make_resource(place, name="Salle Aubrac", capacity=12)
        make_resource(place, name="Vieux traceur", kind="machine", is_active=False)
        make_resource(world["b"], name="Salle d'ailleurs")
        start = next_weekday(2, 10)
        for weeks in (1, 2):
            start = next_weekday(2, 10, weeks)
            booking_create(
                resource=room, booker=UserFactory(), start=start, end=start + dt.timedelta(hours=1)
            )
        client.force_login(world["manager_a"])
        response = client.get(reverse("bookings:manage_resources", kwargs={"slug": place.slug}))
        page = response.content.decode()
        assert "Salle Aubrac" in page and "Vieux traceur" in page and "not bookable" in page
        assert "Salle d&#x27;ailleurs" not in page and "Salle d'ailleurs" not in page
        listed = {r.name: r.upcoming_bookings for r in response.context["resources"]}
        assert listed == {"Salle Aubrac": 2, "Vieux traceur": 0}
        assert reverse("bookings:resource_edit", kwargs={"slug": place.slug, "pk": room.pk}) in page
        assert reverse("bookings:resource", kwargs={"pk": room.pk}) in page
        assert reverse("bookings:calendar", kwargs={"slug": place.slug}) in page
        assert reverse("bookings:resource_new", kwargs={"slug": place.slug}) in page

    def test_counts_pending_requests_and_links_to_them(self, client, world):
        place = world["a"]
        pending_booking(make_resource(place))
        client.force_login(world["manager_a"])
        page = client.get(reverse("bookings:manage_resources", kwargs={"slug": place.slug}))
        text = page.content.decode()
        assert "1 booking request waits for your decision." in text
        assert reverse("bookings:requests", kwargs={"slug": place.slug}) in text


class TestResourceForm:
    def new_url(self, world):
        return reverse("bookings:resource_new", kwargs={"slug": world["a"].slug})

    def test_a_manager_creates_a_resource_with_services_character_hours_and_photo(
        self, client, world
    ):
        client.force_login(world["manager_a"])
        data = resource_data(
            services=["wifi", "visio_room"],
            character=["view", "quiet"],
            requires_approval="on",
            photo=SimpleUploadedFile("salle.png", png(), content_type="image/png"),
            **{
                "hours-d0_0_opens": "09:00",
                "hours-d0_0_closes": "12:00",
                "hours-d0_1_opens": "14:00",
                "hours-d0_1_closes": "18:00",
                "hours-d0_2_opens": "20:00",
                "hours-d0_2_closes": "23:00",
                "hours-d4_0_opens": "09:00",
                "hours-d4_0_closes": "17:00",
            },
        )
        response = client.post(self.new_url(world), data)
        assert response.status_code == 302
        assert response["Location"] == reverse(
            "bookings:manage_resources", kwargs={"slug": world["a"].slug}
        )
        resource = Resource.objects.get()
        assert (resource.place, resource.name, resource.capacity) == (
            world["a"],
            "Salle du Causse",
            8,
        )
        assert resource.requires_approval and resource.is_active
        assert resource.services == ["visio_room", "wifi"]
        assert resource.character == ["quiet", "view"]
        assert [(h.weekday, h.opens, h.closes) for h in resource.hours.all()] == [
            (0, dt.time(9), dt.time(12)),
            (0, dt.time(14), dt.time(18)),
            (0, dt.time(20), dt.time(23)),
            (4, dt.time(9), dt.time(17)),
        ]
        with Image.open(resource.photo.path) as stored:
            assert stored.format == "WEBP"
            assert max(stored.size) == 1600
        actions = set(AuditEntry.objects.filter(place=world["a"]).values_list("action", flat=True))
        assert actions == {"resource.create", "resource.hours"}

    def test_without_own_hours_the_resource_follows_the_place(self, client, world):
        client.force_login(world["manager_a"])
        assert client.post(self.new_url(world), resource_data()).status_code == 302
        resource = Resource.objects.get()
        assert not resource.hours.exists()
        assert not AuditEntry.objects.filter(action="resource.hours").exists()

    def test_a_coordinator_of_the_network_creates_one_too(self, client, world):
        client.force_login(world["coordinator"])
        assert client.post(self.new_url(world), resource_data()).status_code == 302
        entry = AuditEntry.objects.get(action="resource.create")
        assert entry.actor == world["coordinator"]

    @pytest.mark.parametrize(
        ("extra", "field", "message"),
        [
            ({"capacity": "0"}, "capacity", "greater than or equal to 1"),
            ({"name": ""}, "name", "required"),
            ({"kind": "spaceship"}, "kind", "valid choice"),
            (
                {"min_minutes": "120", "max_minutes": "60"},
                "max_minutes",
                "cannot be shorter than the shortest",
            ),
            ({"training": "laser_cutter"}, "training", "Only machines can require a training."),
            ({"services": ["teleporter"]}, "services", "valid choice"),
            ({"character": ["haunted"]}, "character", "valid choice"),
            ({"horizon_days": "100000"}, "horizon_days", "less than or equal to"),
        ],
    )
    def test_invalid_values_are_shown_on_their_field_and_nothing_is_written(
        self, client, world, extra, field, message
    ):
        client.force_login(world["manager_a"])
        response = client.post(self.new_url(world), resource_data(**extra))
        assert response.status_code == 400
        errors = " ".join(response.context["form"].errors.get(field, []))
        assert message in errors
        assert message in response.content.decode().replace("&#x27;", "'")
        assert not Resource.objects.exists()
        assert not ResourceTerm.objects.exists()
        assert not AuditEntry.objects.exists()

    @pytest.mark.parametrize(
        ("hours", "message"),
        [
            ({"hours-d1_0_opens": "18:00", "hours-d1_0_closes": "09:00"}, "later closing time"),
            ({"hours-d1_0_opens": "09:00"}, "later closing time"),
            (
                {
                    "hours-d1_0_opens": "09:00",
                    "hours-d1_0_closes": "13:00",
                    "hours-d1_1_opens": "12:00",
                    "hours-d1_1_closes": "15:00",
                },
                "the intervals overlap",
            ),
        ],
    )
    def test_invalid_hours_are_refused_and_nothing_is_written(self, client, world, hours, message):
        client.force_login(world["manager_a"])
        response = client.post(self.new_url(world), resource_data(services=["wifi"], **hours))
        assert response.status_code == 400
        assert message in " ".join(
            " ".join(errors) for errors in response.context["hours"].errors.values()
        )
        assert message in response.content.decode()
        assert not Resource.objects.exists()
        assert not ResourceHours.objects.exists()

    def test_a_file_that_is_not_an_image_is_refused(self, client, world):
        client.force_login(world["manager_a"])
        upload = SimpleUploadedFile("plan.jpg", b"not an image", content_type="image/jpeg")
        response = client.post(self.new_url(world), resource_data(photo=upload))
        assert response.status_code == 400
        assert "JPEG, PNG or WebP" in " ".join(response.context["form"].errors["photo"])
        assert not Resource.objects.exists()

    def test_a_machine_may_require_a_training(self, client, world):
        client.force_login(world["manager_a"])
        data = resource_data(name="Découpeuse laser", kind="machine", training="laser_cutter")
        assert client.post(self.new_url(world), data).status_code == 302
        assert Resource.objects.get().training == "laser_cutter"

    def test_the_form_is_filled_with_the_resource_and_its_hours(self, client, world):
        resource = make_resource(world["a"], capacity=6)
        ResourceTerm.objects.create(resource=resource, kind="service", code="wifi")
        ResourceHours.objects.create(
            resource=resource, weekday=2, opens=dt.time(8, 30), closes=dt.time(12)
        )
        client.force_login(world["manager_a"])
        url = reverse("bookings:resource_edit", kwargs={"slug": world["a"].slug, "pk": resource.pk})
        response = client.get(url)
        form, hours = response.context["form"], response.context["hours"]
        assert form["capacity"].value() == 6
        assert form["services"].value() == ["wifi"]
        assert hours["d2_0_opens"].value() == dt.time(8, 30)
        assert 'value="08:30"' in response.content.decode()

    def test_editing_changes_values_terms_and_hours_in_the_history(self, client, world):
        resource = make_resource(world["a"], capacity=6)
        ResourceTerm.objects.create(resource=resource, kind="service", code="wifi")
        ResourceHours.objects.create(
            resource=resource, weekday=2, opens=dt.time(9), closes=dt.time(12)
        )
        client.force_login(world["manager_a"])
        url = reverse("bookings:resource_edit", kwargs={"slug": world["a"].slug, "pk": resource.pk})
        response = client.post(
            url, resource_data(name="Salle Causse", capacity="10", services=["visio_room"])
        )
        assert response.status_code == 302
        resource.refresh_from_db()
        assert resource.capacity == 10
        assert resource.services == ["visio_room"]
        assert not resource.hours.exists()  # all days emptied: the place's hours again
        update = AuditEntry.objects.get(action="resource.update")
        assert "capacity" in update.details["fields"]
        assert "name" not in update.details["fields"]
        assert AuditEntry.objects.filter(action="resource.hours").count() == 1

    def test_saving_unchanged_hours_records_no_hours_change(self, client, world):
        resource = make_resource(world["a"])
        ResourceHours.objects.create(
            resource=resource, weekday=2, opens=dt.time(9), closes=dt.time(12)
        )
        client.force_login(world["manager_a"])
        url = reverse("bookings:resource_edit", kwargs={"slug": world["a"].slug, "pk": resource.pk})
        data = resource_data(name="Salle Causse", capacity="5")
        data.update({"hours-d2_0_opens": "09:00", "hours-d2_0_closes": "12:00"})
        assert client.post(url, data).status_code == 302
        assert not AuditEntry.objects.filter(action="resource.hours").exists()
        assert resource.hours.count() == 1

    def test_an_invalid_edit_changes_nothing(self, client, world):
        resource = make_resource(world["a"], capacity=6)
        client.force_login(world["manager_a"])
        url = reverse("bookings:resource_edit", kwargs={"slug": world["a"].slug, "pk": resource.pk})
        response = client.post(url, resource_data(name="", capacity="12"))
        assert response.status_code == 400
        assert "Edit Salle Causse" in response.content.decode()
        resource.refresh_from_db()
        assert (resource.name, resource.capacity) == ("Salle Causse", 6)
        assert not AuditEntry.objects.exists()

    def test_training_on_a_room_is_refused_on_edit_without_writing_anything(self, client, world):
        resource = make_resource(world["a"], capacity=6)
        client.force_login(world["manager_a"])
        url = reverse("bookings:resource_edit", kwargs={"slug": world["a"].slug, "pk": resource.pk})
        data = resource_data(capacity="9", training="printer_3d", services=["wifi"])
        data.update({"hours-d2_0_opens": "09:00", "hours-d2_0_closes": "12:00"})
        response = client.post(url, data)
        assert response.status_code == 400
        assert response.context["form"].errors["training"] == [
            "Only machines can require a training."
        ]
        resource.refresh_from_db()
        assert resource.capacity == 6
        assert not resource.terms.exists()
        assert not resource.hours.exists()
        assert not AuditEntry.objects.exists()

    def test_clearing_the_photo_removes_it(self, client, world):
        client.force_login(world["manager_a"])
        photo = SimpleUploadedFile("salle.png", png(), content_type="image/png")
        client.post(self.new_url(world), resource_data(photo=photo))
        resource = Resource.objects.get()
        assert resource.photo
        url = reverse("bookings:resource_edit", kwargs={"slug": world["a"].slug, "pk": resource.pk})
        assert client.post(url, resource_data(**{"photo-clear": "on"})).status_code == 302
        resource.refresh_from_db()
        assert not resource.photo

    def test_deactivating_a_resource_keeps_its_bookings(self, client, world):
        resource = make_resource(world["a"])
        start = next_weekday(1, 9)
        booking = booking_create(
            resource=resource, booker=UserFactory(), start=start, end=start + dt.timedelta(hours=1)
        )
        client.force_login(world["manager_a"])
        url = reverse("bookings:resource_edit", kwargs={"slug": world["a"].slug, "pk": resource.pk})
        data = resource_data(name="Salle Causse")
        del data["is_active"]
        assert client.post(url, data).status_code == 302
        resource.refresh_from_db()
        assert not resource.is_active
        assert booking.occurrences.get().status == Occurrence.Status.CONFIRMED


class TestRequests:
    def url(self, world):
        return reverse("bookings:requests", kwargs={"slug": world["a"].slug})

    def decide_url(self, world, booking):
        return reverse("bookings:decide", kwargs={"slug": world["a"].slug, "pk": booking.pk})

    def test_pending_bookings_are_listed_with_booker_title_and_local_times(self, client, world):
        booker = UserFactory(full_name="Catherine Vidal", email="catherine@example.org")
        start = next_weekday(3, 14)
        booking = pending_booking(
            make_resource(world["a"], name="Salle visio"),
            booker=booker,
            start=start,
            title="Entretien confidentiel",
            private=True,
        )
        confirmed = make_resource(world["a"], name="Bureau")
        booking_create(
            resource=confirmed, booker=UserFactory(), start=start, end=start + dt.timedelta(hours=1)
        )
        client.force_login(world["manager_a"])
        response = client.get(self.url(world))
        page = response.content.decode()
        assert [b.pk for b in response.context["pending"]] == [booking.pk]
        assert "Catherine Vidal" in page and "catherine@example.org" in page
        assert "Entretien confidentiel" in page and "private" in page
        assert "14:00–16:00" in page  # local wall-clock time of the place, not UTC
        assert self.decide_url(world, booking) in page

    def test_a_pending_request_of_another_place_is_not_listed(self, client, world):
        pending_booking(make_resource(world["b"], name="Salle B"))
        client.force_login(world["manager_a"])
        response = client.get(self.url(world))
        assert list(response.context["pending"]) == []
        assert "No booking request is waiting" in response.content.decode()

    def test_approving_confirms_emails_the_booker_in_their_language_and_audits(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        booker = UserFactory(email="luc@example.org", language="en")
        booking = pending_booking(make_resource(world["a"]), booker=booker)
        manager = world["manager_a"]
        manager.language = "fr"
        manager.save()
        client.force_login(manager)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                self.decide_url(world, booking), {"decision": "approve", "note": "Clé à l'accueil"}
            )
        assert response.status_code == 302
        assert response["Location"] == self.url(world)
        assert booking.occurrences.get().status == Occurrence.Status.CONFIRMED
        (email,) = mailoutbox
        assert email.to == ["luc@example.org"]
        assert email.subject == f"[{settings.MAILLAGE_SITE_NAME}] Your booking is confirmed"
        assert "Clé à l'accueil" in email.body
        entry = AuditEntry.objects.get(action="booking.approve")
        assert entry.actor == manager and entry.place == world["a"]

    def test_refusing_frees_the_slot_and_tells_the_booker(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        booker = UserFactory(email="marie@example.org", language="fr")
        booking = pending_booking(make_resource(world["a"]), booker=booker)
        mailoutbox.clear()
        client.force_login(world["manager_a"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                self.decide_url(world, booking), {"decision": "refuse", "note": "Salle en travaux"}
            )
        assert response.status_code == 302
        assert booking.occurrences.get().status == Occurrence.Status.REFUSED
        (email,) = mailoutbox
        assert email.to == ["marie@example.org"]
        with translation.override("fr"):
            expected = translation.gettext("Your booking request was declined")
        assert email.subject == f"[{settings.MAILLAGE_SITE_NAME}] {expected}"
        assert AuditEntry.objects.filter(action="booking.refuse").count() == 1
        page = client.get(self.url(world))
        decided = list(page.context["decided"])
        assert [(b.pk, b.refused) for b in decided] == [(booking.pk, True)]
        assert "Salle en travaux" in page.content.decode()

    def test_deciding_twice_is_refused_without_a_second_email(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        booking = pending_booking(make_resource(world["a"]))
        client.force_login(world["manager_a"])
        with django_capture_on_commit_callbacks(execute=True):
            client.post(self.decide_url(world, booking), {"decision": "approve"})
        assert len(mailoutbox) == 1
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                self.decide_url(world, booking), {"decision": "refuse"}, follow=True
            )
        assert "not waiting for a decision" in response.content.decode()
        assert booking.occurrences.get().status == Occurrence.Status.CONFIRMED
        assert not mailoutbox

    def test_a_missing_decision_changes_nothing(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        booking = pending_booking(make_resource(world["a"]))
        client.force_login(world["manager_a"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(self.decide_url(world, booking), {"note": "?"}, follow=True)
        assert "This field is required." in response.content.decode()
        assert booking.occurrences.get().status == Occurrence.Status.PENDING
        assert not mailoutbox

    @pytest.mark.parametrize("role", ["manager_b", "member_a", "staff_a"])
    def test_others_cannot_decide(
        self, client, world, role, mailoutbox, django_capture_on_commit_callbacks
    ):
        booking = pending_booking(make_resource(world["a"]))
        client.force_login(world[role])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(self.decide_url(world, booking), {"decision": "approve"})
        assert response.status_code == 404
        assert booking.occurrences.get().status == Occurrence.Status.PENDING
        assert not mailoutbox

    def test_a_booking_of_another_place_is_not_found_through_this_one(self, client, world):
        booking = pending_booking(make_resource(world["b"]))
        client.force_login(world["manager_a"])
        response = client.post(self.decide_url(world, booking), {"decision": "approve"})
        assert response.status_code == 404
        assert booking.occurrences.get().status == Occurrence.Status.PENDING

    def test_deciding_needs_a_post(self, client, world):
        booking = pending_booking(make_resource(world["a"]))
        client.force_login(world["manager_a"])
        assert client.get(self.decide_url(world, booking)).status_code == 405
