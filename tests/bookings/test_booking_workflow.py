"""Resources, trainings, approval, cancellation deadline, waiting list and booking on behalf."""

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from maillage.accounts.models import PlaceRole
from maillage.bookings import services
from maillage.bookings.models import CalendarFeed, Occurrence, Resource, ResourceTerm, WaitlistEntry
from maillage.core.models import AuditEntry
from tests.factories import (
    NetworkFactory,
    OpeningHoursFactory,
    PlaceFactory,
    SeasonFactory,
    UserFactory,
    make_manager,
)

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _messages_in_english():
    with translation.override("en"):
        yield


def next_weekday(weekday: int, hour: int, minute: int = 0, weeks: int = 1) -> dt.datetime:
    today = timezone.now().astimezone(PARIS).date()
    days = (weekday - today.weekday()) % 7 + 7 * weeks
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute), PARIS)


def resource(place=None, **fields) -> Resource:
    return services.resource_create(
        place=place or PlaceFactory(),
        author=None,
        name=fields.pop("name", "Salle Tarn"),
        kind=fields.pop("kind", "meeting_room"),
        **fields,
    )


def book(target: Resource, start: dt.datetime, hours: float = 1, **kwargs):
    return services.booking_create(
        resource=target,
        booker=kwargs.pop("booker", None) or UserFactory(),
        start=start,
        end=start + dt.timedelta(hours=hours),
        **kwargs,
    )


@pytest.mark.django_db
class TestResources:
    def test_a_resource_gets_its_services_and_character_and_is_audited(self):
        room = resource(services=["visio_room", "wifi"], character=["view"], capacity=8)
        assert room.services == ["visio_room", "wifi"]
        assert room.character == ["view"]
        assert AuditEntry.objects.filter(action="resource.create", target_id=str(room.pk)).exists()

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"services": ["teleporter"]}, "Unknown codes"),
            ({"character": ["haunted"]}, "Unknown codes"),
            ({"capacity": 0}, "capacity"),
            ({"min_minutes": 120, "max_minutes": 60}, "durations"),
            ({"kind": "meeting_room", "training": "laser_cutter"}, "Only machines"),
            ({"kind": "spaceship"}, "kind"),
        ],
    )
    def test_bad_resources_are_refused_and_nothing_is_written(self, fields, message):
        with pytest.raises(ValidationError, match=message):
            resource(**fields)
        assert not Resource.objects.exists()
        assert not ResourceTerm.objects.exists()

    def test_updating_replaces_the_terms(self):
        room = resource(services=["visio_room"])
        services.resource_update(resource=room, author=None, services=["wifi"], capacity=3)
        room.refresh_from_db()
        assert (room.services, room.capacity) == (["wifi"], 3)


@pytest.mark.django_db
class TestBookableHours:
    def test_own_hours_replace_the_place_hours(self):
        place = PlaceFactory()
        OpeningHoursFactory(place=place, weekday=3, opens=dt.time(9), closes=dt.time(18))
        studio = resource(place=place)
        services.resource_hours_set(
            resource=studio, intervals=[(3, dt.time(18), dt.time(22))], author=None
        )
        with pytest.raises(ValidationError, match="whole slot"):
            book(studio, next_weekday(3, 10))
        assert book(studio, next_weekday(3, 19), hours=2)

    def test_a_closed_season_of_the_place_closes_a_resource_with_own_hours(self):
        place = PlaceFactory()
        start = next_weekday(3, 19)
        SeasonFactory(
            place=place, start_date=start.date(), end_date=start.date(), closed=True, yearly=False
        )
        studio = resource(place=place)
        services.resource_hours_set(
            resource=studio, intervals=[(3, dt.time(18), dt.time(22))], author=None
        )
        with pytest.raises(ValidationError, match="whole slot"):
            book(studio, start)

    def test_a_time_skipped_by_the_spring_clock_change_is_refused(self):
        room = resource(horizon_days=3650, min_minutes=30)
        year = timezone.now().year + 1
        last_sunday = max(
            dt.date(year, 3, day) for day in range(25, 32) if dt.date(year, 3, day).weekday() == 6
        )
        gap = dt.datetime.combine(last_sunday, dt.time(2, 30), PARIS)
        with pytest.raises(ValidationError, match="does not exist"):
            book(room, gap)
        assert not Occurrence.objects.exists()


@pytest.mark.django_db
class TestTrainings:
    def setup_method(self):
        self.network = NetworkFactory()
        self.home, self.other = PlaceFactory(), PlaceFactory()
        self.outside = PlaceFactory()
        self.home.networks.add(self.network)
        self.other.networks.add(self.network)
        self.member = UserFactory()

    def laser(self, place):
        return resource(place=place, kind="machine", name="Laser", training="laser_cutter")

    def test_a_machine_needs_a_training(self):
        with pytest.raises(ValidationError, match="validated training"):
            book(self.laser(self.home), next_weekday(2, 10), booker=self.member)

    def test_a_training_validated_in_one_place_counts_across_its_network_only(self):
        services.training_validate(
            user=self.member,
            machine_type="laser_cutter",
            place=self.home,
            validator=make_manager(self.home),
        )
        assert book(self.laser(self.other), next_weekday(2, 10), booker=self.member)
        with pytest.raises(ValidationError, match="validated training"):
            book(self.laser(self.outside), next_weekday(2, 10), booker=self.member)

    def test_an_expired_training_no_longer_counts(self):
        start = next_weekday(2, 10, weeks=3)
        services.training_validate(
            user=self.member,
            machine_type="laser_cutter",
            place=self.home,
            validator=make_manager(self.home),
            expires_on=start.date() - dt.timedelta(days=1),
        )
        laser = self.laser(self.home)
        assert book(laser, next_weekday(2, 10), booker=self.member)
        with pytest.raises(ValidationError, match="validated training"):
            book(laser, start, booker=self.member)

    def test_only_managers_validate_and_it_is_audited(self):
        with pytest.raises(PermissionError):
            services.training_validate(
                user=self.member,
                machine_type="laser_cutter",
                place=self.home,
                validator=UserFactory(),
            )
        manager = make_manager(self.home)
        validation = services.training_validate(
            user=self.member, machine_type="laser_cutter", place=self.home, validator=manager
        )
        services.training_revoke(validation=validation, actor=manager)
        actions = set(AuditEntry.objects.values_list("action", flat=True))
        assert {"training.validate", "training.revoke"} <= actions


@pytest.mark.django_db
class TestApproval:
    def test_approving_confirms_and_tells_the_booker_in_their_language(
        self, mailoutbox, django_capture_on_commit_callbacks
    ):
        room = resource(requires_approval=True)
        manager = make_manager(room.place, language="en")
        booker = UserFactory(language="es")
        with django_capture_on_commit_callbacks(execute=True):
            booking = book(room, next_weekday(3, 14), booker=booker)
        assert [m.to for m in mailoutbox] == [[manager.email]]
        with django_capture_on_commit_callbacks(execute=True):
            services.booking_decide(booking=booking, actor=manager, approve=True, note="¡Hola!")
        assert booking.occurrences.get().status == "confirmed"
        news = mailoutbox[-1]
        assert news.to == [booker.email]
        with translation.override("es"):
            assert translation.gettext("Your booking is confirmed") in news.subject
        assert "¡Hola!" in news.body

    def test_refusing_frees_the_slot_and_strangers_cannot_decide(self, mailoutbox):
        room = resource(requires_approval=True)
        start = next_weekday(3, 14)
        booking = book(room, start)
        with pytest.raises(PermissionError):
            services.booking_decide(booking=booking, actor=UserFactory(), approve=True)
        services.booking_decide(booking=booking, actor=make_manager(room.place), approve=False)
        assert booking.occurrences.get().status == "refused"
        assert book(room, start)
        with pytest.raises(ValidationError, match="not waiting"):
            services.booking_decide(booking=booking, actor=make_manager(room.place), approve=True)


@pytest.mark.django_db
class TestCancellation:
    def test_the_booker_cannot_cancel_after_the_deadline_but_staff_can(self):
        room = resource(cancel_deadline_hours=48)
        soon = timezone.now().astimezone(PARIS).replace(second=0, microsecond=0) + HOUR
        booking = book(room, soon)
        with pytest.raises(services.CancellationTooLate, match="48 hours"):
            services.booking_cancel(booking=booking, actor=booking.booker)
        staff = UserFactory()
        PlaceRole.objects.create(user=staff, place=room.place, role="staff")
        assert services.booking_cancel(booking=booking, actor=staff) == 1
        entry = AuditEntry.objects.get(action="booking.cancel")
        assert entry.details["booker"] == booking.booker.email

    def test_a_stranger_cannot_cancel_someone_elses_booking(self):
        booking = book(resource(), next_weekday(3, 14))
        with pytest.raises(PermissionError):
            services.booking_cancel(booking=booking, actor=UserFactory())


@pytest.mark.django_db
class TestOnBehalf:
    def test_staff_book_for_a_member_and_it_is_audited(self):
        room = resource()
        staff, member = UserFactory(), UserFactory()
        PlaceRole.objects.create(user=staff, place=room.place, role="staff")
        booking = book(room, next_weekday(3, 14), booker=member, created_by=staff)
        assert (booking.booker, booking.created_by) == (member, staff)
        entry = AuditEntry.objects.get(action="booking.on_behalf")
        assert entry.actor == staff and entry.details["booker"] == member.email

    def test_someone_without_a_role_cannot_book_for_another(self):
        with pytest.raises(PermissionError):
            book(resource(), next_weekday(3, 14), created_by=UserFactory())
        assert not Occurrence.objects.exists()


@pytest.mark.django_db
class TestWaitingList:
    def test_the_first_in_line_gets_the_freed_slot_and_an_email(
        self, mailoutbox, django_capture_on_commit_callbacks
    ):
        room = resource()
        start = next_weekday(3, 14)
        taken = book(room, start, hours=2)
        first, second = UserFactory(language="en"), UserFactory()
        services.waitlist_join(resource=room, user=first, start=start, end=start + HOUR)
        services.waitlist_join(resource=room, user=second, start=start, end=start + HOUR)

        with django_capture_on_commit_callbacks(execute=True):
            services.booking_cancel(booking=taken, actor=taken.booker)

        entries = {e.user: e for e in WaitlistEntry.objects.all()}
        assert entries[first].status == "booked"
        assert entries[first].booking.occurrences.get().status == "confirmed"
        assert entries[second].status == "waiting"
        assert mailoutbox[-1].to == [first.email]
        assert "waited for" in mailoutbox[-1].subject

    def test_someone_waiting_for_a_slot_still_partly_taken_keeps_waiting(self):
        room = resource()
        start = next_weekday(3, 14)
        first = book(room, start)
        book(room, start + HOUR)
        waiting = UserFactory()
        services.waitlist_join(resource=room, user=waiting, start=start, end=start + 2 * HOUR)
        services.booking_cancel(booking=first, actor=first.booker)
        assert WaitlistEntry.objects.get(user=waiting).status == "waiting"

    def test_joining_is_refused_for_a_free_slot_or_twice(self):
        room = resource()
        start = next_weekday(3, 14)
        user = UserFactory()
        with pytest.raises(ValidationError, match="free"):
            services.waitlist_join(resource=room, user=user, start=start, end=start + HOUR)
        book(room, start)
        services.waitlist_join(resource=room, user=user, start=start, end=start + HOUR)
        with pytest.raises(ValidationError, match="already"):
            services.waitlist_join(resource=room, user=user, start=start, end=start + HOUR)

    def test_a_refusal_also_serves_the_waiting_list(self):
        room = resource(requires_approval=True)
        start = next_weekday(3, 14)
        pending = book(room, start)
        waiting = UserFactory()
        services.waitlist_join(resource=room, user=waiting, start=start, end=start + HOUR)
        services.booking_decide(booking=pending, actor=make_manager(room.place), approve=False)
        entry = WaitlistEntry.objects.get(user=waiting)
        assert entry.status == "booked"
        assert entry.booking.occurrences.get().status == "pending"


@pytest.mark.django_db
def test_a_feed_token_is_renewed_and_revoked():
    user = UserFactory()
    first = services.calendar_feed_renew(user=user)
    second = services.calendar_feed_renew(user=user)
    assert first.token != second.token
    services.calendar_feed_revoke(user=user)
    assert not CalendarFeed.objects.filter(user=user).exists()


@pytest.mark.django_db
class TestSeriesGuards:
    def test_a_series_whose_dates_overlap_each_other_is_refused(self):
        room = resource()
        with pytest.raises(ValidationError, match="overlap each other"):
            book(room, next_weekday(3, 9), hours=2, rrule="FREQ=HOURLY;COUNT=3")
        assert not Occurrence.objects.exists()

    def test_a_rule_that_never_matches_is_refused(self):
        room = resource(horizon_days=3660)
        with pytest.raises(ValidationError, match="no date"):
            book(room, next_weekday(3, 10), rrule="FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")

    def test_a_horizon_beyond_ten_years_is_refused(self):
        with pytest.raises(ValidationError, match="3660"):
            resource(horizon_days=10**9)
