"""Reads behind the manager pages of bookings: a place's resources, requests and trainings."""

import datetime as dt
import zoneinfo

from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from maillage.places.models import Place

from .models import Booking, Occurrence, Resource, TrainingValidation

RECENT_DECISIONS_DAYS = 30


def place_resources(place: Place) -> QuerySet[Resource]:
    """Every resource of the place, bookable or not, with its number of bookings still to come
    (or under way) and its terms prefetched."""
    upcoming = Q(occurrences__status__in=Occurrence.HOLDING, occurrences__end__gt=timezone.now())
    return (
        Resource.objects.filter(place=place)
        .annotate(upcoming_bookings=Count("occurrences__booking", filter=upcoming, distinct=True))
        .prefetch_related(Prefetch("terms", to_attr="prefetched_terms"))
        .order_by("-is_active", "name")
    )


def _pending(place: Place) -> QuerySet[Booking]:
    return (
        Booking.objects.filter(resource__place=place)
        .annotate(first_pending=Min("occurrences__start", filter=Q(occurrences__status="pending")))
        .filter(first_pending__isnull=False)
    )


def pending_count(place: Place) -> int:
    return _pending(place).count()


def pending_requests(place: Place) -> QuerySet[Booking]:
    """Bookings of the place with slots waiting for approval, the soonest first; each carries
    `pending_slots`."""
    return (
        _pending(place)
        .select_related("resource", "booker", "created_by")
        .prefetch_related(
            Prefetch(
                "occurrences",
                queryset=Occurrence.objects.filter(status=Occurrence.Status.PENDING).order_by(
                    "start"
                ),
                to_attr="pending_slots",
            )
        )
        .order_by("first_pending", "pk")
    )


def recent_decisions(place: Place, *, days: int = RECENT_DECISIONS_DAYS) -> QuerySet[Booking]:
    """Requests of the place approved or refused in the last `days` days, the latest first; each
    carries `first_start` and `refused`."""
    since = timezone.now() - dt.timedelta(days=days)
    refused = Occurrence.objects.filter(booking=OuterRef("pk"), status=Occurrence.Status.REFUSED)
    return (
        Booking.objects.filter(
            resource__place=place, decided_by__isnull=False, updated_at__gte=since
        )
        .select_related("resource", "booker", "decided_by")
        .annotate(first_start=Min("occurrences__start"), refused=Exists(refused))
        .order_by("-updated_at", "-pk")
    )


def place_today(place: Place) -> dt.date:
    """Today's date where the place is (trainings expire at the end of their last local day)."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(place.time_zone)).date()


def trainings_given(place: Place) -> QuerySet[TrainingValidation]:
    """Trainings validated by the team of this place, expired ones included."""
    return (
        TrainingValidation.objects.filter(place=place)
        .select_related("user", "validated_by")
        .order_by("-updated_at", "-pk")
    )


def trainings_recognised(place: Place, *, on: dt.date) -> QuerySet[TrainingValidation]:
    """Trainings validated by other places sharing a network with this one and still valid on
    `on`: this place's machines accept them (see selectors.holds_training)."""
    return (
        TrainingValidation.objects.filter(place__networks__places=place)
        .exclude(place=place)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=on))
        .select_related("user", "place", "validated_by")
        .distinct()
        .order_by("user__email", "machine_type", "place__name")
    )
