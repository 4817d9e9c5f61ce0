"""Who may do what in the directory. Views, the API and templates ask only these functions."""

from django.db.models import Q, QuerySet

from maillage.accounts.models import NetworkRole, PlaceRole

from .models import Network, Place, PlaceProposal


def _authenticated(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def is_coordinator(user, network=None) -> bool:
    if not _authenticated(user):
        return False
    if user.is_superuser:
        return True
    roles = NetworkRole.objects.filter(user=user, role=NetworkRole.Role.COORDINATOR)
    if network is not None:
        roles = roles.filter(network=network)
    return roles.exists()


def can_edit_place(user, place: Place) -> bool:
    """Managers of the place, coordinators of one of its networks, and superusers."""
    if not _authenticated(user):
        return False
    if user.is_superuser:
        return True
    if PlaceRole.objects.filter(user=user, place=place, role=PlaceRole.Role.MANAGER).exists():
        return True
    return NetworkRole.objects.filter(
        user=user, role=NetworkRole.Role.COORDINATOR, network__places=place
    ).exists()


def place_access(user, place: Place) -> str | None:
    """How far this user reaches into a place, for answers that must not leak its existence.

    "edit": they may manage it (can_edit_place). "role": they have a role in it (staff, member)
    that does not let them edit: they know the place, so a refusal may say "forbidden". None:
    nothing links them to it, so they must be answered as if it did not exist (404, never 403).
    """
    if can_edit_place(user, place):
        return "edit"
    if _authenticated(user) and PlaceRole.objects.filter(user=user, place=place).exists():
        return "role"
    return None


def can_read_history(user, place: Place) -> bool:
    return can_edit_place(user, place)


def moderatable_proposals(user) -> QuerySet[PlaceProposal]:
    """The proposals this user may moderate: those of the networks they coordinate.

    A proposal that names no network (and no place in a network) is for every coordinator.
    """
    proposals = PlaceProposal.objects.select_related("place", "network", "proposer")
    if not _authenticated(user):
        return proposals.none()
    if user.is_superuser:
        return proposals
    network_ids = list(
        NetworkRole.objects.filter(user=user, role=NetworkRole.Role.COORDINATOR).values_list(
            "network_id", flat=True
        )
    )
    if not network_ids:
        return proposals.none()
    orphan = Q(network__isnull=True) & (Q(place__isnull=True) | Q(place__networks__isnull=True))
    return proposals.filter(
        Q(network_id__in=network_ids) | Q(place__networks__in=network_ids) | orphan
    ).distinct()


def can_moderate(user, proposal: PlaceProposal) -> bool:
    return moderatable_proposals(user).filter(pk=proposal.pk).exists()


def team_roles_grantable(user, place: Place) -> list[str]:
    """Roles this user may give, change or take back in the place: coordinators any, managers and
    staff only the roles below their own (so a manager names staff, never another manager)."""
    if not _authenticated(user):
        return []
    if (
        user.is_superuser
        or NetworkRole.objects.filter(
            user=user, role=NetworkRole.Role.COORDINATOR, network__places=place
        ).exists()
    ):
        return list(PlaceRole.Role)
    own = PlaceRole.objects.filter(user=user, place=place, role__in=PlaceRole.TEAM).first()
    if own is None:
        return []
    rank = PlaceRole.RANKS[own.role]
    return [role for role in PlaceRole.Role if PlaceRole.RANKS[role] < rank]


def coordinated_networks(user):
    """The networks whose places this user may add, remove, publish and unpublish."""
    if not _authenticated(user):
        return Network.objects.none()
    if user.is_superuser:
        return Network.objects.all()
    return Network.objects.filter(
        roles__user=user, roles__role=NetworkRole.Role.COORDINATOR
    ).distinct()
