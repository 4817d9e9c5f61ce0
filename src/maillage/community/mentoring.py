"""Mentoring (seed 003): Justine, 16, asks how one starts a business in Lozère; Murielle, a young
entrepreneur of the network who opted in as a mentor, answers her, and the place's team puts them
in touch — Murielle becomes her "marraine".

The life of a request:

- Someone asks, with an account or not. Without one, the first email's secret link confirms the
  address (`unconfirmed` until then) and stays the asker's way back to their request.
- A minor's request needs their parent's or guardian's agreement: the asker ticks it (refused
  otherwise, nothing written), then the place's team checks it, for instance by phone, and
  confirms it (`awaiting_consent` until then). No mentor sees it before.
- Once `open`, the active mentors of the place's networks who share one of its fields are told
  (never the asker's address or surname) and may answer; each answer is emailed to the asker at
  once, with the link to their request.
- The place's team connects the asker with one mentor (`connected`): only then does the mentor
  receive the asker's address. The asker or the team closes the request.
"""

import datetime as dt

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from maillage.accounts.models import User
from maillage.core.audit import audit_record
from maillage.members.kiosk_queries import first_name
from maillage.places.models import Place

from . import permissions, selectors, services, vocabulary
from .models import BODY_MAX, Mentor, MentoringAnswer, MentoringRequest

Status = MentoringRequest.Status
ABOUT_MAX = 2000
ANSWER_MAX = 4000
NAME_MAX = 120
VISIBLE_TO_MENTORS = (Status.OPEN, Status.CONNECTED)
# The team's queue: what waits for them first.
TEAM_ORDER = (Status.AWAITING_CONSENT, Status.OPEN, Status.CONNECTED, Status.CLOSED)


class MentoringConflict(ValidationError):
    """A change the request's state does not allow (answering a closed request, confirming a
    consent twice...): the pages show the message, the API answers 409."""


# The links of the emails carry the request's id signed with the secret key: whoever holds the
# email follows their request; nobody can make one.
_LINKS = signing.Signer(salt="maillage.community.mentoring")


def request_secret(mentoring: MentoringRequest) -> str:
    return _LINKS.sign(str(mentoring.pk))


def request_by_secret(secret: str) -> MentoringRequest | None:
    try:
        pk = int(_LINKS.unsign(secret or ""))
    except (signing.BadSignature, ValueError):
        return None
    return MentoringRequest.objects.select_related("place", "mentor").filter(pk=pk).first()


def request_link(mentoring: MentoringRequest) -> str:
    """The asker's page of `mentoring`, as an absolute address for emails."""
    return services.absolute(
        reverse("community:mentoring_request", kwargs={"secret": request_secret(mentoring)})
    )


def detail_link(mentoring: MentoringRequest) -> str:
    """The page of `mentoring` for mentors and the place's team."""
    return services.absolute(reverse("community:mentoring_detail", kwargs={"pk": mentoring.pk}))


def asker_first_name(mentoring: MentoringRequest) -> str:
    """How mentors call the asker: their first name only, never a surname."""
    return first_name(mentoring.name) or gettext_lazy("someone")


def field_labels(codes) -> list:
    """The names of field codes, lazy: resolved in the language of the page or the email."""
    return [term.label for term in (vocabulary.field(code) for code in codes) if term]


# Cleaning -------------------------------------------------------------------------------------


def clean_fields(codes, *, field: str = "fields", required: bool = False) -> list[str]:
    """Known field codes (community.vocabulary.FIELDS), each once, in the given order."""
    if isinstance(codes, str) or not isinstance(codes, list | tuple | set | frozenset):
        raise ValidationError({field: _("Choose fields from the list.")})
    cleaned: list[str] = []
    for code in codes:
        if not isinstance(code, str) or code not in vocabulary.FIELD_CODES:
            raise ValidationError(
                {
                    field: _("Unknown field “%(code)s”: choose fields from the list.")
                    % {"code": code}
                }
            )
        if code not in cleaned:
            cleaned.append(code)
    if required and not cleaned:
        raise ValidationError({field: _("Choose at least one field.")})
    return cleaned


def _clean_about(about: str) -> str:
    about = (about or "").strip()
    if len(about) > ABOUT_MAX:
        raise ValidationError(
            {"about": _("The text is too long: %(max)d characters at most.") % {"max": ABOUT_MAX}}
        )
    return about


def _language(code: str | None) -> str:
    known = {language for language, _name in settings.LANGUAGES}
    return code if code in known else settings.LANGUAGE_CODE


# Mentors --------------------------------------------------------------------------------------


def mentor_of(user) -> Mentor | None:
    """The mentor record of `user` (active or not), or None."""
    if not (user and user.is_authenticated):
        return None
    return Mentor.objects.filter(user=user).first()


@transaction.atomic
def mentor_save(*, user: User, fields, about: str = "", is_active: bool = True) -> Mentor:
    """Opt in as a mentor (or change one's fields and words), or step back (`is_active` False:
    no more requests shown or emailed; what was answered stays)."""
    if not permissions.can_become_mentor(user):
        raise PermissionError
    current = Mentor.objects.select_for_update().filter(user=user).first()
    codes = clean_fields(fields, required=bool(is_active))
    if not codes and current is not None:
        codes = current.fields  # stepping back keeps the fields for a later return
    about = _clean_about(about)
    if current is None:
        return Mentor.objects.create(
            user=user, fields=codes, about=about, is_active=bool(is_active)
        )
    current.fields, current.about, current.is_active = codes, about, bool(is_active)
    current.save(update_fields=["fields", "about", "is_active", "updated_at"])
    return current


def _sharing_fields(queryset: QuerySet, codes: list[str], *, lookup: str = "fields") -> QuerySet:
    """Rows of `queryset` whose JSON list `lookup` holds one of `codes` (or is empty).

    Written with a text lookup on the serialised list (`"code"` with its quotes), which SQLite
    and PostgreSQL both answer; codes are plain ASCII words (vocabulary.FIELD_CODES).
    """
    shared = Q(**{lookup: []})
    for code in codes:
        shared |= Q(**{f"{lookup}__icontains": f'"{code}"'})
    return queryset.filter(shared)


def mentors_for(mentoring: MentoringRequest) -> QuerySet[Mentor]:
    """The active mentors who see `mentoring` once it is open: people with a role in its place or
    in a place sharing one of its networks (permissions.mentor_places), who share one of its
    fields (every mentor there when it names none)."""
    place = mentoring.place
    networks = place.networks.values("pk")
    places = Place.objects.filter(Q(pk=place.pk) | Q(networks__in=networks)).values("pk")
    mentors = Mentor.objects.filter(
        is_active=True, user__is_active=True, user__place_roles__place__in=places
    )
    if mentoring.fields:
        mentors = mentors.filter(
            pk__in=_sharing_fields(Mentor.objects.all(), mentoring.fields).values("pk")
        )
    return mentors.select_related("user").distinct().order_by("user__full_name", "pk")


# Asking ---------------------------------------------------------------------------------------


def request_ask(
    *,
    place: Place | None,
    asker: User | None = None,
    name: str = "",
    email: str = "",
    language: str | None = None,
    age_group: str,
    guardian_consent: bool = False,
    topic: str,
    fields=(),
    question: str,
) -> MentoringRequest:
    """Record a question. Every error is gathered and raised before anything is written."""
    asker = asker if asker is not None and asker.is_authenticated else None
    errors: dict[str, list[str]] = {}

    def refuse(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    def collect(field: str, check):
        try:
            return check()
        except ValidationError as error:
            for name_, messages in error.message_dict.items():
                errors.setdefault(name_, []).extend(messages)
            return None

    if place is None or not place.is_published:
        refuse("place", _("Choose one of the places of the list."))
    name = " ".join((name or "").split())
    if not name and asker is not None:
        name = first_name(asker.full_name)
    if not name:
        refuse("name", _("Tell us your first name."))
    elif len(name) > NAME_MAX:
        refuse("name", _("The name is too long: %(max)d characters at most.") % {"max": NAME_MAX})
    if asker is not None:
        email, language = asker.email, asker.language
    else:
        email = (email or "").strip()
        try:
            validate_email(email)
        except ValidationError:
            refuse("email", _("Give an email address where we can send you the answers."))
    if age_group not in MentoringRequest.AgeGroup.values:
        refuse("age_group", _("Tell us how old you are."))
    elif age_group in MentoringRequest.MINORS and not guardian_consent:
        refuse(
            "guardian_consent",
            _(
                "Under 18, a parent or guardian must agree that you ask a mentor: tick the box "
                "once they do. The place's team will check it with them before any mentor sees "
                "your question."
            ),
        )
    if topic not in MentoringRequest.Topic.values:
        refuse("topic", _("Tell us what your question is about."))
    codes = collect("fields", lambda: clean_fields(fields))
    question = collect(
        "question", lambda: services.clean_message(question, field="question", limit=BODY_MAX)
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        mentoring = MentoringRequest.objects.create(
            place=place,
            asker=asker,
            name=name,
            email=email,
            language=_language(language),
            age_group=age_group,
            guardian_consent=bool(guardian_consent),
            topic=topic,
            fields=codes,
            question=question,
            status=Status.UNCONFIRMED,
        )
        if asker is not None:
            # The address of an account is known: no confirmation email.
            _confirmed(mentoring)
        else:
            services.email_person(
                email=mentoring.email,
                language=mentoring.language,
                subject=gettext_lazy("Confirm your question to a mentor"),
                template="community/email/mentoring_confirm.txt",
                context=_asker_context(mentoring),
            )
    return mentoring


def request_confirm(secret: str) -> MentoringRequest | None:
    """The asker followed the link of their first email and confirmed: the request goes on to
    the team (a minor's) or to the mentors. Confirming again changes nothing."""
    found = request_by_secret(secret)
    if found is None:
        return None
    with transaction.atomic():
        mentoring = MentoringRequest.objects.select_for_update().get(pk=found.pk)
        if mentoring.status == Status.UNCONFIRMED:
            _confirmed(mentoring)
    return mentoring


# A question whose address was never confirmed is deleted after this many days: nobody saw it,
# and an address someone typed is kept no longer than needed.
UNCONFIRMED_DAYS = 7


def purge_unconfirmed(*, now: dt.datetime | None = None) -> int:
    """Delete the questions whose address was not confirmed within UNCONFIRMED_DAYS."""
    limit = (now or timezone.now()) - dt.timedelta(days=UNCONFIRMED_DAYS)
    deleted, _by_model = MentoringRequest.objects.filter(
        status=Status.UNCONFIRMED, created_at__lt=limit
    ).delete()
    return deleted


def _confirmed(mentoring: MentoringRequest) -> None:
    """The address is known: wait for the team's check of the consent, or open to mentors."""
    mentoring.email_confirmed_at = mentoring.email_confirmed_at or timezone.now()
    if mentoring.is_minor and mentoring.consent_confirmed_at is None:
        mentoring.status = Status.AWAITING_CONSENT
        mentoring.save(update_fields=["email_confirmed_at", "status", "updated_at"])
        _tell_team_consent_needed(mentoring)
        return
    mentoring.status = Status.OPEN
    mentoring.save(update_fields=["email_confirmed_at", "status", "updated_at"])
    _tell_mentors(mentoring)


def _asker_context(mentoring: MentoringRequest, **extra) -> dict:
    return {
        "mentoring": mentoring,
        "first_name": asker_first_name(mentoring),
        "place": mentoring.place,
        "url": request_link(mentoring),
        **extra,
    }


def _mentor_context(mentoring: MentoringRequest, **extra) -> dict:
    """What a mentor may read of a request: never the asker's address or surname."""
    return {
        "mentoring": mentoring,
        "first_name": asker_first_name(mentoring),
        "place": mentoring.place,
        "field_labels": field_labels(mentoring.fields),
        "url": detail_link(mentoring),
        **extra,
    }


def _tell_asker(mentoring: MentoringRequest, *, subject, template: str, context: dict) -> None:
    """Email the asker at once, in their language: through their account or to their address."""
    asker = mentoring.asker
    if asker is not None:
        services.notify(
            asker,
            subject=subject,
            template=template,
            context=context,
            url=context.get("url", ""),
            urgent=True,
        )
    else:
        services.email_person(
            email=mentoring.email,
            language=mentoring.language,
            subject=subject,
            template=template,
            context=context,
        )


def _tell_team_consent_needed(mentoring: MentoringRequest) -> None:
    place = mentoring.place
    url = detail_link(mentoring)
    for member in selectors.place_team(place):
        services.notify(
            member,
            subject=lambda: (
                _("A minor's mentoring question waits for you at %(place)s") % {"place": place.name}
            ),
            template="community/email/mentoring_consent_needed.txt",
            context={
                "mentoring": mentoring,
                "place": place,
                "field_labels": field_labels(mentoring.fields),
                "url": url,
            },
            url=url,
        )


def _tell_mentors(mentoring: MentoringRequest) -> None:
    """News for the mentors who may answer an open request (not urgent: their choice applies)."""
    if mentoring.is_hidden:
        return
    place = mentoring.place
    for mentor in mentors_for(mentoring):
        if mentor.user_id == mentoring.asker_id:
            continue
        services.notify(
            mentor.user,
            subject=lambda: (
                _("A mentoring question in your fields at %(place)s") % {"place": place.name}
            ),
            template="community/email/mentoring_new_request.txt",
            context=_mentor_context(mentoring),
            url=detail_link(mentoring),
        )


# The team's steps -----------------------------------------------------------------------------


def _locked(mentoring: MentoringRequest) -> MentoringRequest:
    # Only the request's row is locked (PostgreSQL locks no nullable side of an outer join).
    return (
        MentoringRequest.objects.select_for_update(of=("self",))
        .select_related("place", "asker", "mentor")
        .get(pk=mentoring.pk)
    )


@transaction.atomic
def consent_confirm(*, request: MentoringRequest, actor: User) -> MentoringRequest:
    """The place's team states that they checked the guardian's agreement (by phone, in
    person...): the minor's request opens to mentors."""
    if not permissions.can_moderate_request(actor, request):
        raise PermissionError
    mentoring = _locked(request)
    if not mentoring.is_minor:
        raise MentoringConflict(_("This request is not a minor's: it needs no consent."))
    if mentoring.consent_confirmed_at is not None:
        raise MentoringConflict(_("The consent of this request is already confirmed."))
    if mentoring.status == Status.CLOSED:
        raise MentoringConflict(_("This request is closed."))
    if mentoring.status == Status.UNCONFIRMED:
        raise MentoringConflict(
            _("The asker has not confirmed their email address yet: wait for it.")
        )
    now = timezone.now()
    mentoring.consent_confirmed_at, mentoring.consent_confirmed_by = now, actor
    mentoring.status = Status.OPEN
    mentoring.save(
        update_fields=["consent_confirmed_at", "consent_confirmed_by", "status", "updated_at"]
    )
    audit_record(
        actor=actor,
        action="community.consent",
        target=mentoring,
        place=mentoring.place,
        details={"age_group": mentoring.age_group},
    )
    _tell_asker(
        mentoring,
        subject=gettext_lazy("Your question is now open to mentors"),
        template="community/email/mentoring_opened.txt",
        context=_asker_context(mentoring),
    )
    _tell_mentors(mentoring)
    return mentoring


@transaction.atomic
def connect(*, request: MentoringRequest, mentor: User, actor: User) -> MentoringRequest:
    """The place's team puts the asker in touch with one mentor: each is emailed the other's
    details (the mentor gets the asker's address only now)."""
    if not permissions.can_moderate_request(actor, request):
        raise PermissionError
    mentoring = _locked(request)
    if mentoring.status == Status.CLOSED:
        raise MentoringConflict(_("This request is closed."))
    if mentoring.status == Status.CONNECTED:
        raise MentoringConflict(_("This request is already put in touch with a mentor."))
    if mentoring.status != Status.OPEN:
        raise MentoringConflict(
            _("This request is not open to mentors yet: it cannot be put in touch.")
        )
    if mentoring.is_hidden:
        raise MentoringConflict(_("This request is hidden: show it again first."))
    record = (
        Mentor.objects.select_related("user")
        .filter(user=mentor, is_active=True, user__is_active=True)
        .first()
        if mentor is not None
        else None
    )
    reaches = (
        record is not None
        and permissions.mentor_places(mentor).filter(pk=mentoring.place_id).exists()
    )
    if not reaches:
        raise ValidationError({"mentor": _("Choose an active mentor of this place's networks.")})
    now = timezone.now()
    mentoring.mentor, mentoring.connected_at, mentoring.status = mentor, now, Status.CONNECTED
    mentoring.save(update_fields=["mentor", "connected_at", "status", "updated_at"])
    audit_record(
        actor=actor,
        action="community.connect",
        target=mentoring,
        place=mentoring.place,
        details={"mentor": mentor.pk},
    )
    _tell_asker(
        mentoring,
        subject=gettext_lazy("You are put in touch with a mentor"),
        template="community/email/mentoring_connected_asker.txt",
        context=_asker_context(
            mentoring, mentor_name=selectors.display_name(mentor), about=record.about
        ),
    )
    services.notify(
        mentor,
        subject=lambda: (
            _("You are put in touch with %(name)s") % {"name": first_name(mentoring.name)}
        ),
        template="community/email/mentoring_connected_mentor.txt",
        context=_mentor_context(mentoring, email=mentoring.email),
        url=detail_link(mentoring),
        urgent=True,
    )
    return mentoring


@transaction.atomic
def request_close(
    *, request: MentoringRequest, actor: User | None = None, secret: str | None = None
) -> MentoringRequest:
    """Close a request: no more answers. By the asker (the link of their emails or their
    account) or by the place's team."""
    found = request_by_secret(secret) if secret is not None else None
    by_link = found is not None and found.pk == request.pk
    if not (by_link or permissions.can_close_request(actor, request)):
        raise PermissionError
    mentoring = _locked(request)
    if mentoring.status == Status.CLOSED:
        raise MentoringConflict(_("This request is already closed."))
    mentoring.status = Status.CLOSED
    mentoring.save(update_fields=["status", "updated_at"])
    asker = by_link or (actor is not None and actor.pk == mentoring.asker_id)
    if not asker:
        audit_record(
            actor=actor, action="community.mentoring_close", target=mentoring, place=mentoring.place
        )
    return mentoring


# Answers --------------------------------------------------------------------------------------


@transaction.atomic
def answer_send(*, request: MentoringRequest, mentor: User, body: str) -> MentoringAnswer:
    """A mentor answers: the answer is emailed to the asker at once, with their link."""
    mentoring = _locked(request)
    if mentoring.status == Status.CLOSED and permissions.knew_request(mentor, mentoring):
        raise MentoringConflict(_("This request is closed: answers are no longer possible."))
    if not permissions.can_see_request(mentor, mentoring):
        raise PermissionError
    if not permissions.can_answer_request(mentor, mentoring):
        raise PermissionError
    text = services.clean_message(body, field="body", limit=ANSWER_MAX)
    answer = MentoringAnswer.objects.create(request=mentoring, mentor=mentor, body=text)
    _tell_asker(
        mentoring,
        subject=lambda: (
            _("%(name)s answered your question") % {"name": selectors.display_name(mentor)}
        ),
        template="community/email/mentoring_answer.txt",
        context=_asker_context(
            mentoring, answer=answer, mentor_name=selectors.display_name(mentor)
        ),
    )
    return answer


def answers_for_asker(mentoring: MentoringRequest) -> QuerySet[MentoringAnswer]:
    """What the asker reads: the answers nobody hid."""
    return mentoring.answers.filter(hidden_at__isnull=True).select_related("mentor")


def answers_visible_to(user, mentoring: MentoringRequest) -> QuerySet[MentoringAnswer]:
    """Every answer for the place's team; the others, but hidden ones only for their author."""
    answers = mentoring.answers.select_related("mentor")
    if permissions.can_moderate_request(user, mentoring):
        return answers
    if mentoring.asker_id is not None and user.is_authenticated and mentoring.asker_id == user.pk:
        return answers.filter(hidden_at__isnull=True)
    return answers.filter(Q(hidden_at__isnull=True) | Q(mentor_id=user.pk))


# Lists ----------------------------------------------------------------------------------------


def _with_related(queryset: QuerySet[MentoringRequest]) -> QuerySet[MentoringRequest]:
    return queryset.select_related("place", "mentor")


def requests_for_mentor(user) -> QuerySet[MentoringRequest]:
    """A mentor's queue: the visible open (or connected) requests of their places and fields,
    and those they were put in touch with."""
    if not permissions.is_mentor(user):
        return MentoringRequest.objects.none()
    seen = _sharing_fields(
        MentoringRequest.objects.filter(
            status__in=VISIBLE_TO_MENTORS,
            hidden_at__isnull=True,
            place__in=permissions.mentor_places(user).values("pk"),
        ),
        list(user.mentor.fields),
    )
    queryset = MentoringRequest.objects.filter(
        Q(pk__in=seen.values("pk")) | Q(mentor=user, hidden_at__isnull=True)
    )
    return _with_related(queryset).order_by("-created_at", "-id")


def requests_for_team(place: Place) -> QuerySet[MentoringRequest]:
    """The team's queue: awaiting consent first, then open, connected, closed; newest first in
    each. Unconfirmed requests (the address not proved yet) are left out."""
    rank = Case(
        *[When(status=status, then=Value(i)) for i, status in enumerate(TEAM_ORDER)],
        default=Value(len(TEAM_ORDER)),
        output_field=IntegerField(),
    )
    queryset = MentoringRequest.objects.filter(place=place).exclude(status=Status.UNCONFIRMED)
    return (
        _with_related(queryset)
        .annotate(queue_rank=rank)
        .order_by("queue_rank", "-created_at", "-id")
    )


def asker_requests(user) -> QuerySet[MentoringRequest]:
    if not (user and user.is_authenticated):
        return MentoringRequest.objects.none()
    return _with_related(MentoringRequest.objects.filter(asker=user)).order_by("-created_at", "-id")
