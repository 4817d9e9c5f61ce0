"""Reads about people and their roles."""

from django.db.models import Q, QuerySet

from maillage.core.models import AuditEntry

from .models import NetworkRole, PlaceRole


def audit_entries_for(user) -> QuerySet[AuditEntry]:
    """The audit entries a person may read: managers those of their places, coordinators those
    of their networks and of the places in them, superusers all."""
    entries = AuditEntry.objects.select_related("actor", "place", "network")
    if not (user and user.is_authenticated and user.is_active):
        return entries.none()
    if user.is_superuser:
        return entries
    managed = PlaceRole.objects.filter(user=user, role=PlaceRole.Role.MANAGER).values("place_id")
    coordinated = NetworkRole.objects.filter(user=user, role=NetworkRole.Role.COORDINATOR).values(
        "network_id"
    )
    return entries.filter(
        Q(place_id__in=managed) | Q(network_id__in=coordinated) | Q(place__networks__in=coordinated)
    ).distinct()


def can_read_audit(user) -> bool:
    if not (user and user.is_authenticated and user.is_active):
        return False
    return (
        user.is_superuser
        or PlaceRole.objects.filter(user=user, role=PlaceRole.Role.MANAGER).exists()
        or NetworkRole.objects.filter(user=user, role=NetworkRole.Role.COORDINATOR).exists()
    )
