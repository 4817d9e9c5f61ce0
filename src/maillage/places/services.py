"""Writes on the directory. Views, the API, the importer and the admin all come through here."""

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from maillage.accounts.models import PlaceRole, User
from maillage.accounts.services import account_for_email, place_role_set
from maillage.core.audit import audit_record
from maillage.core.tasks import send_email
from maillage.core.text import fold

from . import selectors
from .models import Network, OpeningHours, Place, PlaceProposal, PlaceRevision, PlaceTerm, Season

# Plain fields a manager, a proposal or an import may set.
EDITABLE_FIELDS = (
    "name",
    "summary",
    "description",
    "address",
    "postcode",
    "town",
    "insee_code",
    "department",
    "latitude",
    "longitude",
    "email",
    "phone",
    "website",
    "time_zone",
    "translations",
    "is_published",
)
TERM_FIELDS = {
    "functions": PlaceTerm.Kind.FUNCTION,
    "services": PlaceTerm.Kind.SERVICE,
    "languages": PlaceTerm.Kind.LANGUAGE,
    "accessibility": PlaceTerm.Kind.ACCESSIBILITY,
}


def unique_slug(name: str, town: str = "", *, exclude_pk: int | None = None) -> str:
    """A slug nobody else has: the name, then the name and town, then a number."""
    others = Place.objects.exclude(pk=exclude_pk) if exclude_pk else Place.objects.all()
    base = slugify(name)[:100] or "lieu"
    candidates = [base]
    if town:
        candidates.append(f"{base}-{slugify(town)}"[:110])
    for candidate in candidates:
        if not others.filter(slug=candidate).exists():
            return candidate
    stem = candidates[-1]
    taken = set(others.filter(slug__startswith=f"{stem}-").values_list("slug", flat=True))
    number = 2
    while f"{stem}-{number}" in taken:
        number += 1
    return f"{stem}-{number}"


def refresh_search_fields(place: Place) -> None:
    place.town_key = fold(place.town)
    place.search_text = fold(
        " ".join([place.name, place.town, place.postcode, place.summary, place.address])
    )


def _set_terms(place: Place, kind: str, codes: Iterable[str]) -> tuple[list[str], list[str]]:
    wanted = sorted(set(codes))
    unknown = [code for code in wanted if code not in PlaceTerm.VOCABULARY[kind]]
    if unknown:
        raise ValidationError(
            {kind: _("Unknown codes: %(codes)s.") % {"codes": ", ".join(unknown)}}
        )
    current = sorted(place.terms.filter(kind=kind).values_list("code", flat=True))
    if current != wanted:
        place.terms.filter(kind=kind).exclude(code__in=wanted).delete()
        PlaceTerm.objects.bulk_create(
            [PlaceTerm(place=place, kind=kind, code=c) for c in wanted if c not in current]
        )
    return current, wanted


def jsonable(value):
    if isinstance(value, dt.date | dt.time | dt.datetime):
        return value.isoformat()
    return value


def record_revision(
    *,
    place: Place,
    author: User | None,
    source: str,
    changes: dict,
    proposal: PlaceProposal | None = None,
) -> PlaceRevision:
    """Keep a change in the place's history and, when a person made it, in the audit log."""
    revision = PlaceRevision.objects.create(
        place=place, author=author, source=source, proposal=proposal, changes=changes
    )
    if author is not None:
        kinds = sorted({key.split(":", 1)[0] for key in changes})
        audit_record(
            actor=author,
            action="place.role" if kinds == ["team"] else f"place.{source}",
            target=place,
            place=place,
            details={"fields": kinds, **({"proposal": proposal.pk} if proposal else {})},
        )
    return revision


def _apply(
    place: Place,
    data: Mapping,
    *,
    author: User | None,
    source: str,
    proposal: PlaceProposal | None = None,
    networks: Iterable[Network] | None = None,
) -> Place:
    changes: dict[str, list] = {}
    for name in EDITABLE_FIELDS:
        if name in data:
            old, new = getattr(place, name), data[name]
            if new is None:
                new = "" if name not in ("latitude", "longitude") else old
            if old != new:
                changes[name] = [jsonable(old), jsonable(new)]
                setattr(place, name, new)
    creating = place.pk is None
    if not place.slug or (creating and Place.objects.filter(slug=place.slug).exists()):
        place.slug = unique_slug(place.name, place.town)
    refresh_search_fields(place)
    place.full_clean()
    place.save()
    for field_name, kind in TERM_FIELDS.items():
        if field_name in data:
            old, new = _set_terms(place, kind, data[field_name] or [])
            if old != new:
                changes[field_name] = [old, new]
    if networks is not None:
        old = sorted(place.networks.values_list("slug", flat=True))
        place.networks.set(networks)
        new = sorted(n.slug for n in networks)
        if old != new:
            changes["networks"] = [old, new]
    if changes or creating:
        record_revision(
            place=place,
            author=author,
            source=PlaceRevision.Source.CREATED if creating and source != "import" else source,
            proposal=proposal,
            changes=changes,
        )
    return place


@transaction.atomic
def place_create(
    *,
    data: Mapping,
    author: User | None = None,
    source: str = PlaceRevision.Source.EDIT,
    networks: Iterable[Network] | None = None,
    proposal: PlaceProposal | None = None,
    slug: str = "",
    origin: tuple[str, str] | None = None,
) -> Place:
    """Create a place from validated values; records the creation in its history.

    `slug` is kept when free (imports of our own layout); `origin` is (source, id in the source),
    the key that makes re-imports update instead of duplicate.
    """
    place = Place(slug=slug)
    if origin is not None:
        place.source, place.source_id = origin
    return _apply(place, data, author=author, source=source, networks=networks, proposal=proposal)


@transaction.atomic
def place_update(
    *,
    place: Place,
    data: Mapping,
    author: User | None = None,
    source: str = PlaceRevision.Source.EDIT,
    networks: Iterable[Network] | None = None,
    proposal: PlaceProposal | None = None,
) -> Place:
    """Change the given fields of a place; every changed value is kept in its history."""
    place = Place.objects.select_for_update().get(pk=place.pk)
    return _apply(place, data, author=author, source=source, networks=networks, proposal=proposal)


def place_hours_rules_refresh(*places: Place | int) -> None:
    """Rewrite Place.hours_rules from the hours and season rows (after any change to them), in
    the database and on the given Place objects."""
    ids = [place if isinstance(place, int) else place.pk for place in places]
    rules = selectors.hours_rules_by_place(ids)
    for place in places:
        if isinstance(place, Place):
            place.hours_rules = rules[place.pk]
    for place_id, place_rules in rules.items():
        Place.objects.filter(pk=place_id).update(hours_rules=place_rules)


@transaction.atomic
def place_week_hours_set(
    *,
    place: Place,
    intervals: Iterable[tuple[int, dt.time, dt.time]],
    season: Season | None = None,
    author: User | None = None,
) -> None:
    """Replace the weekly hours of a place (or of one of its seasons) by `intervals`."""
    if season is not None and season.place_id != place.pk:
        raise ValidationError(_("This season belongs to another place."))
    intervals = sorted(set(intervals))
    for weekday, opens, closes in intervals:
        if weekday not in range(7):
            raise ValidationError(_("Days are numbered from 0 (Monday) to 6 (Sunday)."))
        if not opens < closes:
            raise ValidationError(_("A closing time must come after its opening time."))
    by_day: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday, opens, closes in intervals:
        by_day.setdefault(weekday, []).append((opens, closes))
    for spans in by_day.values():
        for (_o1, c1), (o2, _c2) in itertools.pairwise(spans):
            if o2 < c1:
                raise ValidationError(_("Two opening intervals of the same day overlap."))
    existing = OpeningHours.objects.filter(place=place, season=season)
    old = sorted((h.weekday, h.opens.isoformat(), h.closes.isoformat()) for h in existing)
    new = [(w, o.isoformat(), c.isoformat()) for w, o, c in intervals]
    if old == new:
        return
    existing.delete()
    OpeningHours.objects.bulk_create(
        [
            OpeningHours(place=place, season=season, weekday=w, opens=o, closes=c)
            for w, o, c in intervals
        ]
    )
    place_hours_rules_refresh(place)  # bulk_create sends no post_save signal
    label = f"hours:{season.name}" if season else "hours"
    record_revision(
        place=place, author=author, source=PlaceRevision.Source.EDIT, changes={label: [old, new]}
    )


@transaction.atomic
def season_save(
    *,
    place: Place,
    season: Season | None,
    name: str,
    start_date: dt.date,
    end_date: dt.date,
    yearly: bool,
    closed: bool,
    author: User | None = None,
) -> Season:
    season = season or Season(place=place)
    before = (
        None
        if season.pk is None
        else [
            season.name,
            season.start_date.isoformat(),
            season.end_date.isoformat(),
            season.yearly,
            season.closed,
        ]
    )
    season.name, season.start_date, season.end_date = name, start_date, end_date
    season.yearly, season.closed = yearly, closed
    season.full_clean()
    season.save()
    after = [name, start_date.isoformat(), end_date.isoformat(), yearly, closed]
    if before != after:
        record_revision(
            place=place,
            author=author,
            source=PlaceRevision.Source.EDIT,
            changes={f"season:{name}": [before, after]},
        )
    return season


@transaction.atomic
def season_delete(*, season: Season, author: User | None = None) -> None:
    record_revision(
        place=season.place,
        author=author,
        source=PlaceRevision.Source.EDIT,
        changes={
            f"season:{season.name}": [
                [season.start_date.isoformat(), season.end_date.isoformat()],
                None,
            ]
        },
    )
    season.delete()


def proposal_submit(
    *,
    kind: str,
    payload: Mapping,
    place: Place | None = None,
    network: Network | None = None,
    proposer: User | None = None,
    proposer_name: str = "",
    proposer_email: str = "",
    message: str = "",
) -> PlaceProposal:
    """Record a proposal from anyone; it changes nothing until a coordinator approves it."""
    if kind == PlaceProposal.Kind.CORRECTION and place is None:
        raise ValidationError(_("A correction must name the place it corrects."))
    if proposer is None and not proposer_email:
        raise ValidationError({"proposer_email": _("Give an email so that we can answer you.")})
    proposal = PlaceProposal(
        kind=kind,
        place=place,
        network=network,
        payload={k: jsonable(v) for k, v in payload.items()},
        proposer=proposer,
        proposer_name=proposer_name,
        proposer_email=proposer_email or (proposer.email if proposer else ""),
        message=message,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    proposal.full_clean()
    proposal.save()
    return proposal


def _notify_proposer(proposal: PlaceProposal) -> None:
    """Tell the proposer of the decision, in their language, once it is committed.

    Called inside the transaction that records the decision: the message is rendered from that
    state, and the email job that sends it is enqueued only after the commit.
    """
    recipient = proposal.proposer.email if proposal.proposer else proposal.proposer_email
    if not recipient:
        return
    language = proposal.proposer.language if proposal.proposer else proposal.language
    with translation.override(language):
        context = {"proposal": proposal, "site_name": settings.MAILLAGE_SITE_NAME}
        if proposal.status == PlaceProposal.Status.APPROVED and proposal.place_id:
            context["place_url"] = settings.MAILLAGE_BASE_URL + reverse(
                "places:detail", kwargs={"slug": proposal.place.slug}
            )
        subject = (
            _("Your proposal was approved")
            if proposal.status == PlaceProposal.Status.APPROVED
            else _("Your proposal was not accepted")
        )
        body = render_to_string("places/email/proposal_decision.txt", context)
        subject = f"[{settings.MAILLAGE_SITE_NAME}] {subject}"
    # robust: a mail server or queue outage must not turn a recorded decision into an error page.
    transaction.on_commit(
        lambda: send_email.enqueue(subject=subject, body=body, recipients=[recipient]),
        robust=True,
    )


@transaction.atomic
def proposal_approve(*, proposal: PlaceProposal, reviewer: User) -> Place:
    """Apply a pending proposal to the directory and tell the proposer, once committed."""
    proposal = PlaceProposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.status != PlaceProposal.Status.PENDING:
        raise ValidationError(_("This proposal has already been moderated."))
    payload = dict(proposal.payload)
    networks = None
    if proposal.kind == PlaceProposal.Kind.NEW:
        networks = [proposal.network] if proposal.network else None
        place = place_create(
            data=payload,
            author=reviewer,
            source=PlaceRevision.Source.PROPOSAL,
            networks=networks,
            proposal=proposal,
        )
    else:
        place = place_update(
            place=proposal.place,
            data=payload,
            author=reviewer,
            source=PlaceRevision.Source.PROPOSAL,
            proposal=proposal,
        )
    proposal.place = place
    proposal.status = PlaceProposal.Status.APPROVED
    proposal.reviewed_by = reviewer
    proposal.reviewed_at = timezone.now()
    proposal.save()
    audit_record(
        actor=reviewer,
        action="proposal.approve",
        target=proposal,
        place=place,
        network=proposal.network,
        details={"kind": proposal.kind},
    )
    _notify_proposer(proposal)
    return place


@transaction.atomic
def proposal_reject(*, proposal: PlaceProposal, reviewer: User, reason: str) -> PlaceProposal:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why, so that the proposer understands.")})
    proposal = PlaceProposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.status != PlaceProposal.Status.PENDING:
        raise ValidationError(_("This proposal has already been moderated."))
    proposal.status = PlaceProposal.Status.REJECTED
    proposal.decision_reason = reason
    proposal.reviewed_by = reviewer
    proposal.reviewed_at = timezone.now()
    proposal.save()
    audit_record(
        actor=reviewer,
        action="proposal.reject",
        target=proposal,
        place=proposal.place,
        network=proposal.network,
        details={"kind": proposal.kind, "reason": reason},
    )
    _notify_proposer(proposal)
    return proposal


@transaction.atomic
def place_gallery_save(*, place: Place, formsets: Mapping, author: User | None = None) -> bool:
    """Save the photo, team and equipment formsets of a place; the history lists the changes.

    Returns whether anything changed.
    """
    changes = {}
    for label, formset in formsets.items():
        before = [str(item) for item in formset.get_queryset()]
        formset.save()
        after = [str(item) for item in formset.model.objects.filter(place=place)]
        if before != after or any(form.has_changed() for form in formset.forms):
            changes[label] = [before, after]
    if changes:
        record_revision(
            place=place, author=author, source=PlaceRevision.Source.EDIT, changes=changes
        )
    return bool(changes)


@transaction.atomic
def place_team_invite(*, place: Place, email: str, role: str, author: User) -> tuple[User, bool]:
    """Give `role` to the person of `email`, opening their account and inviting them when they
    have none. Returns the account and whether it was created."""
    user, created = account_for_email(email, invited_by=author, where=place.name)
    place_team_set(place=place, user=user, role=role, author=author)
    return user, created


@transaction.atomic
def place_team_set(*, place: Place, user: User, role: str | None, author: User | None) -> None:
    """Give `user` a role in `place`, or remove their role when `role` is None; kept in history."""
    current = PlaceRole.objects.filter(place=place, user=user).first()
    before = current.role if current else None
    if role is None:
        if current:
            current.delete()
    else:
        place_role_set(user=user, place=place, role=role)
    if before != role:
        record_revision(
            place=place,
            author=author,
            source=PlaceRevision.Source.EDIT,
            changes={f"team:{user.email}": [before, role]},
        )


@transaction.atomic
def place_coordination_set(
    *,
    place: Place,
    networks_in_scope: Iterable[Network],
    chosen: Iterable[Network],
    published: bool,
    author: User | None = None,
) -> Place:
    """A coordinator's decisions on a place: which of *their* networks list it, and publication.

    Networks outside the coordinator's scope are left as they are.
    """
    scope = {network.pk for network in networks_in_scope}
    kept = [n for n in place.networks.all() if n.pk not in scope]
    return place_update(
        place=place,
        data={"is_published": published},
        networks=[*kept, *[n for n in chosen if n.pk in scope]],
        author=author,
    )
