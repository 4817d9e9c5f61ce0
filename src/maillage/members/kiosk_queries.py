"""Reads for presence at the door: the kiosk's name search, the team's check-in desk search and
who is in now."""

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from maillage.accounts.models import PlaceRole, User
from maillage.places.models import Place

from .models import CheckIn
from .selectors import members_of

KIOSK_RESULTS = 10
DESK_RESULTS = 20
MIN_QUERY = 2

_SEPARATORS = re.compile(r"[\s\-'’_.,/()]+")


def name_words(text: str) -> list[str]:
    """The words of a person's name, lower-case and without accents ("Stéphane" -> "stephane").
    Unlike core.text.fold, "St" stays "st": it begins Stéphane, not Saint."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return [word for word in _SEPARATORS.split(stripped) if word]


def short_name(full_name: str) -> str:
    """How the kiosk shows a person: first name and the initial of the last ("Catherine V.")."""
    parts = full_name.split()
    if len(parts) < 2:
        return full_name.strip()
    return f"{parts[0]} {parts[-1][0].upper()}."


def first_name(full_name: str) -> str:
    return full_name.split()[0] if full_name.strip() else ""


@dataclass
class KioskPerson:
    pk: int
    name: str
    present: bool


def _open_checkins(place: Place, user_ids) -> set[int]:
    return set(
        CheckIn.objects.filter(
            place=place, user_id__in=user_ids, checked_out_at__isnull=True
        ).values_list("user_id", flat=True)
    )


def kiosk_search(place: Place, q: str) -> list[KioskPerson]:
    """People with a role at `place` whose name has a word beginning with each word typed, by
    name, at most KIOSK_RESULTS: only their short name and whether they are in (never an
    email; people without a name cannot be found here)."""
    typed = name_words(q)
    if not typed:
        return []
    people = []
    for pk, full_name in (
        PlaceRole.objects.filter(place=place, user__is_active=True)
        .exclude(user__full_name="")
        .values_list("user_id", "user__full_name")
    ):
        words = name_words(full_name)
        if all(any(word.startswith(part) for word in words) for part in typed):
            people.append((" ".join(words), pk, full_name))
    people.sort()
    found = people[:KIOSK_RESULTS]
    here = _open_checkins(place, [pk for _key, pk, _name in found])
    return [KioskPerson(pk, short_name(name), pk in here) for _key, pk, name in found]


def kiosk_member(place: Place, pk: int) -> User | None:
    """The active account `pk` if it has a role at `place` (the only people the kiosk serves)."""
    return User.objects.filter(pk=pk, is_active=True, place_roles__place=place).first()


def open_checkin(place: Place, member: User) -> CheckIn | None:
    """The member's check-in at `place` that has no check-out yet (the latest, should the
    closing-time job not have run)."""
    return (
        CheckIn.objects.filter(place=place, user=member, checked_out_at__isnull=True)
        .order_by("-checked_in_at")
        .first()
    )


@dataclass
class DeskPerson:
    user: User
    role: str  # the role's label at the place, "" for someone found by their exact email
    checkin: CheckIn | None  # today's check-in, if any


def desk_search(place: Place, q: str, *, day: dt.date) -> list[DeskPerson]:
    """For the team: people with a role at `place` matching a name or email, and anyone whose
    email is exactly `q` (a network pass holder from another place has no role here)."""
    q = q.strip()
    if len(q) < MIN_QUERY:
        return []
    roles = list(members_of(place, q=q).filter(user__is_active=True)[:DESK_RESULTS])
    found = [(role.user, role.get_role_display()) for role in roles]
    known = {user.pk for user, _role in found}
    exact = User.objects.filter(email__iexact=q, is_active=True).exclude(pk__in=known).first()
    if exact is not None:
        found.insert(0, (exact, ""))
    today = {
        record.user_id: record
        for record in CheckIn.objects.filter(
            place=place, day=day, user_id__in=[user.pk for user, _role in found]
        )
    }
    return [DeskPerson(user, role, today.get(user.pk)) for user, role in found]


def present_count(place: Place) -> int:
    return CheckIn.objects.filter(place=place, checked_out_at__isnull=True).count()
