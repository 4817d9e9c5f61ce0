"""The audit log of privileged writes: one function to record, one to erase a person from it."""

import json

from django.db import models, transaction
from django.db.models import Q

from .models import AuditEntry

ERASED = "[erased]"


def _label(obj) -> str:
    return str(obj)[:200] if obj is not None else ""


def audit_record(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    place=None,
    network=None,
    details: dict | None = None,
) -> AuditEntry:
    """Record a privileged write. Call it inside the transaction of the write it describes,
    so that the entry exists exactly when the change does."""
    actor = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=actor,
        actor_label=_label(actor.email if actor else ""),
        action=action,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=_label(target),
        place=place,
        network=network,
        details=details or {},
    )


def _scrub(value, secrets: set[str]):
    if isinstance(value, str):
        return ERASED if any(s and s.lower() in value.lower() for s in secrets) else value
    if isinstance(value, list):
        return [_scrub(item, secrets) for item in value]
    if isinstance(value, dict):
        return {
            (ERASED if _scrub(k, secrets) == ERASED else k): _scrub(v, secrets)
            for k, v in value.items()
        }
    return value


@transaction.atomic
def audit_erase_person(user) -> int:
    """Remove a person's name and email from the audit log (GDPR erasure); the entries stay.

    Returns how many entries were changed.
    """
    secrets = {user.email, getattr(user, "full_name", "")} - {""}
    needle = Q(actor=user)
    for secret in secrets:
        needle |= Q(actor_label__iexact=secret) | Q(target_label__icontains=secret)
        # JSON text may hold the name escaped (SQLite stores "é" as "\u00e9").
        for form in {secret, json.dumps(secret)[1:-1]}:
            needle |= Q(details__icontains=form)
    changed = 0
    for entry in AuditEntry.objects.filter(needle).select_for_update():
        if entry.actor_id == user.pk:
            entry.actor = None
            entry.actor_label = ERASED
        entry.actor_label = _scrub(entry.actor_label, secrets)
        entry.target_label = _scrub(entry.target_label, secrets)
        entry.details = _scrub(entry.details, secrets)
        entry.save()
        changed += 1
    return changed
