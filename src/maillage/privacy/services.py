"""A person's data: export it (a zip of JSON and CSV), erase it, and say what we hold.

What each model holds and what erasure does with its rows is declared in registry.py; this module
runs the registry for one person, with or without an account (an email address alone).
"""

import csv
import io
import json
import zipfile
from pathlib import PurePosixPath

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from maillage.accounts.models import PlaceRole, User
from maillage.core.audit import audit_record
from maillage.core.tasks import send_email
from maillage.places.exports import neutralise

from .registry import ERASED_DOMAIN, REGISTRY, Context, Person, erase_all

ZIP_README = "README.txt"
ZIP_DATA = "data.json"


def person_of(user: User) -> Person:
    return Person(email=user.email, user=user, names={user.full_name} - {""})


def person_by_email(email: str) -> Person:
    """The account with this address, or the address alone (rows kept without an account)."""
    email = (email or "").strip().lower()
    user = User.objects.filter(email__iexact=email).first() if email else None
    if user is not None:
        return person_of(user)
    return Person(email=email, names=_names_given_with(email) if email else set())


def _names_given_with(email: str) -> set[str]:
    """The names someone without an account gave with their address (registrations, mentoring
    questions, proposals): erasure scrubs them from free text too."""
    from maillage.agenda.models import Registration
    from maillage.community.models import MentoringRequest
    from maillage.places.models import PlaceProposal

    names = set(Registration.objects.filter(email__iexact=email).values_list("name", flat=True))
    names |= set(
        MentoringRequest.objects.filter(email__iexact=email).values_list("name", flat=True)
    )
    names |= set(
        PlaceProposal.objects.filter(proposer_email__iexact=email).values_list(
            "proposer_name", flat=True
        )
    )
    return {name for name in names if name.strip()}


# Export -----------------------------------------------------------------------------------------


def collect(person: Person) -> dict[str, list[dict]]:
    """Every section of the registry with the person's rows (possibly none)."""
    return {entry.section: entry.export(person) for entry in REGISTRY}


def counts(person: Person) -> list[tuple[str, int]]:
    """(translated section title, number of rows) for the sections that hold something."""
    found = []
    for entry in REGISTRY:
        rows = entry.export(person)
        if rows:
            found.append((str(entry.title), len(rows)))
    return found


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    columns = list(rows[0]) if rows else []
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            neutralise(
                json.dumps(row[c], ensure_ascii=False)
                if isinstance(row[c], list | dict)
                else row[c]
            )
            for c in columns
        )
    return buffer.getvalue()


def _photo(person: Person):
    """The member profile's photo file (name in the zip, bytes), or None."""
    from maillage.members.models import MemberProfile

    if person.user is None:
        return None
    profile = MemberProfile.objects.filter(user=person.user).first()
    if profile is None or not profile.photo:
        return None
    try:
        with profile.photo.open("rb") as handle:
            content = handle.read()
    except OSError:
        return None
    return f"photo{PurePosixPath(profile.photo.name).suffix or '.webp'}", content


def export_person(person: Person | User) -> bytes:
    """A zip of everything the instance holds about the person: data.json (every section),
    one CSV per section that holds rows (cells made inert for spreadsheets), the profile photo
    and a README.txt in the person's language."""
    if isinstance(person, User):
        person = person_of(person)
    data = collect(person)
    photo = _photo(person)
    language = person.user.language if person.user is not None else settings.LANGUAGE_CODE
    with translation.override(language or settings.LANGUAGE_CODE):
        sections = [
            {
                "section": entry.section,
                "file": f"{entry.section}.csv",
                "title": str(entry.title),
                "rows": len(data[entry.section]),
            }
            for entry in REGISTRY
            if data[entry.section]
        ]
        readme = render_to_string(
            "privacy/export_readme.txt",
            {
                "email": person.email,
                "sections": sections,
                "photo": photo[0] if photo else "",
                "site_name": settings.MAILLAGE_SITE_NAME,
                "now": timezone.now(),
            },
        )
    document = {
        "exported_at": timezone.now().isoformat(),
        "site": settings.MAILLAGE_SITE_NAME,
        "email": person.email,
        "sections": data,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(ZIP_README, readme)
        archive.writestr(ZIP_DATA, json.dumps(document, ensure_ascii=False, indent=2))
        for section in sections:
            archive.writestr(f"{section['section']}.csv", _csv(data[section["section"]]))
        if photo:
            archive.writestr(*photo)
    return buffer.getvalue()


# Erasure ----------------------------------------------------------------------------------------


def places_left_without_manager(user: User) -> list:
    """The places of which `user` is the only manager: erasing them would leave the place with
    nobody to run it (the page asks to hand over first)."""
    managed = PlaceRole.objects.filter(user=user, role=PlaceRole.Role.MANAGER).select_related(
        "place"
    )
    return [
        role.place
        for role in managed
        if not PlaceRole.objects.filter(place=role.place, role=PlaceRole.Role.MANAGER)
        .exclude(user=user)
        .exists()
    ]


def _confirmation_email(person: Person, reason: str) -> None:
    """Tell the person, at the address about to be erased, once the erasure has committed."""
    if not person.email or person.email.endswith("@" + ERASED_DOMAIN):
        return
    language = person.user.language if person.user is not None else settings.LANGUAGE_CODE
    with translation.override(language or settings.LANGUAGE_CODE):
        body = render_to_string(
            "privacy/email/erased.txt",
            {"reason": reason, "site_name": settings.MAILLAGE_SITE_NAME},
        )
        subject = f"[{settings.MAILLAGE_SITE_NAME}] " + _("Your personal data has been erased")
    recipient = person.email
    transaction.on_commit(
        lambda: send_email.enqueue(subject=subject, body=body, recipients=[recipient]),
        robust=True,
    )


def erase_person(person: Person | User, *, actor: User | None, reason: str = "request") -> dict:
    """Erase a person (docs/privacy.md), in one transaction: their future bookings and
    registrations are cancelled through the apps' services, personal rows deleted or anonymised,
    rows that make the places' counts kept on a tombstone account. The person gets a
    confirmation email; an audit entry records that an erasure happened, without who.

    `actor` is who asked (the person themself, or an operator's account; None from a command or
    the retention job). `reason`: "request" or "retention". Returns rows changed per section.
    """
    if isinstance(person, User):
        person = person_of(person)
    if person.user is None and not person.email:
        raise ValueError("Nobody to erase: give an account or an email address.")
    context = Context(now=timezone.now())
    with transaction.atomic():
        if person.user is not None:
            person.user = User.objects.select_for_update().get(pk=person.user.pk)
        _confirmation_email(person, reason)
        changed = erase_all(person, context)
        audit_record(
            actor=actor
            if actor is not None and actor.pk != getattr(person.user, "pk", None)
            else None,
            action="privacy.erase",
            details={
                "reason": reason,
                "with_account": person.user is not None,
                "by_self": actor is not None and actor.pk == getattr(person.user, "pk", None),
            },
        )
        files = list(context.files)
        transaction.on_commit(lambda: _delete_files(files), robust=True)
    return changed


def _delete_files(files) -> None:
    for storage, name in files:
        storage.delete(name)
