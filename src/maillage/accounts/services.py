"""Writes on accounts: roles and API tokens."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from maillage.core.audit import audit_record

from .models import ApiToken, NetworkRole, PlaceRole, User

TOKEN_PREFIX = "mlg_"  # noqa: S105 (a public marker, not a secret)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(
    *, user: User, name: str = "", actor: User | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its clear value, which is never shown again."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name, prefix=raw[:12], key_hash=_hash(raw))
        audit_record(
            actor=actor,
            action="token.create",
            target=token,
            details={"for": user.email, "name": name},
        )
    return token, raw


def api_token_authenticate(raw: str) -> User | None:
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    try:
        token = ApiToken.objects.select_related("user").get(
            key_hash=_hash(raw), user__is_active=True
        )
    except ApiToken.DoesNotExist:
        return None
    now = timezone.now()
    # Writing on every request would turn each API read into a write; a minute is precise enough.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def place_role_set(*, user: User, place, role: str) -> PlaceRole:
    place_role, _ = PlaceRole.objects.update_or_create(
        user=user, place=place, defaults={"role": role}
    )
    return place_role


@transaction.atomic
def network_role_grant(*, user: User, network, role: str = NetworkRole.Role.COORDINATOR):
    network_role, _ = NetworkRole.objects.get_or_create(user=user, network=network, role=role)
    return network_role
