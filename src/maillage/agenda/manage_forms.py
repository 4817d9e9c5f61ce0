"""Forms of the managers' pages of the agenda: the event form (with its repetition), cancelling an
event, the actions of the participants page, messages to participants, the door's check-in.

Times are typed as wall-clock times of the place (a network's own events: the site's time zone);
the forms turn them into aware datetimes and refuse those that do not exist (the hour skipped
when the clocks go forward). The services validate again and write.
"""

import datetime as dt
import re
import zoneinfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.forms.fields import BaseTemporalField
from django.utils import timezone
from django.utils.html import escape, linebreaks
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from maillage.bookings.models import Resource
from maillage.bookings.services import exists_locally
from maillage.core.html import ALLOWED_TAGS
from maillage.core.images import NormalisedImageField
from maillage.places import vocabulary as place_vocabulary

from . import vocabulary
from .models import Event
from .services import MAX_SERIES_DATES

# Rooms an event can take place in (and book through the bookings app).
ROOM_KINDS = (Resource.Kind.MEETING_ROOM, Resource.Kind.VISIO_ROOM, Resource.Kind.TRAINING_ROOM)
# The interface languages other than French, in which a title and description may be given.
TRANSLATED_LANGUAGES = tuple(code for code, _name in settings.LANGUAGES if code != "fr")
MAX_CAPACITY = 100_000
# How far from today an event may be dated; also keeps date arithmetic far from year 1/9999.
DATE_RANGE = dt.timedelta(days=3660)
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
# Text holding one of the allowed tags is HTML; any other text is plain (a "<" is just a "<").
_TAG_NAMES = "|".join(sorted(ALLOWED_TAGS, key=len, reverse=True))
_ALLOWED_TAG = re.compile(rf"</?(?:{_TAG_NAMES})\b[^>]*>", re.IGNORECASE)


def zone_of(*, place=None, network=None) -> zoneinfo.ZoneInfo:
    """The time zone of a place's events; a network's own events use the site's."""
    return zoneinfo.ZoneInfo(place.time_zone if place is not None else settings.TIME_ZONE)


def as_html(text: str) -> str:
    """Plain text becomes paragraphs (a blank line starts a new one, its "<" and "&" stay
    characters); HTML is kept as typed and sanitised by the services."""
    text = (text or "").strip()
    if not text or _ALLOWED_TAG.search(text):
        return text
    return linebreaks(text, autoescape=True)


class LocalDateTimeField(forms.DateTimeField):
    """A `datetime-local` input read as a naive wall-clock time: the form, not the current time
    zone of the request, decides which zone it is in."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)
    input_formats = [DATETIME_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=None)
        return BaseTemporalField.to_python(self, value)


def _check(field: forms.Field) -> forms.Field:
    field.required = False
    return field


class EventForm(forms.Form):
    """An event of a place or of a network. With `repeat=True` (creation), a repetition."""

    REPEAT_CHOICES = [
        ("", _("Does not repeat")),
        ("weekly", _("Every week")),
        ("fortnightly", _("Every 2 weeks")),
        ("monthly_weekday", _("Every month, on the same weekday (e.g. the 2nd Tuesday)")),
    ]
    STATUS_CHOICES = [
        (Event.Status.PUBLISHED, _("Published: shown in the agenda")),
        (Event.Status.DRAFT, _("Draft: only the team sees it")),
    ]

    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 8})
    )
    category = forms.ChoiceField(
        label=_("Category"), choices=place_vocabulary.choices(vocabulary.CATEGORIES)
    )
    audience = forms.ChoiceField(
        label=_("Audience"),
        choices=place_vocabulary.choices(vocabulary.AUDIENCES),
        initial="everyone",
    )
    language = forms.ChoiceField(
        label=_("Language of the event"),
        choices=place_vocabulary.choices(place_vocabulary.LANGUAGES),
        initial="fr",
    )
    image = NormalisedImageField(
        label=_("Image"),
        required=False,
        help_text=_("A JPEG, PNG or WebP picture; it is resized and its metadata removed."),
    )
    start = LocalDateTimeField(label=_("Starts"))
    end = LocalDateTimeField(label=_("Ends"))
    repeat = forms.ChoiceField(label=_("How often"), choices=REPEAT_CHOICES, required=False)
    count = forms.IntegerField(
        label=_("Number of dates"),
        required=False,
        min_value=2,
        max_value=MAX_SERIES_DATES,
    )
    rrule = forms.CharField(
        label=_("Repeat rule (RFC 5545)"),
        required=False,
        max_length=300,
        help_text=_(
            "For experts, instead of the choice above, e.g. FREQ=WEEKLY;BYDAY=TU,TH;COUNT=10. "
            "It repeats the date and times given above, in the local time of the place."
        ),
    )
    location = forms.ChoiceField(
        label=_("Where"), choices=Event.Location.choices, widget=forms.RadioSelect
    )
    room = forms.ModelChoiceField(
        label=_("Room"),
        queryset=Resource.objects.none(),
        required=False,
        empty_label=_("Choose a room"),
        help_text=_("The room is booked for the time of the event."),
    )
    address = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=250,
        help_text=_("When the event takes place at another address."),
    )
    online_url = forms.URLField(
        label=_("Link to join online"),
        required=False,
        max_length=300,
        assume_scheme="https",
        help_text=_("For an online or hybrid event."),
    )
    registration_required = _check(
        forms.BooleanField(label=_("Registration required"), initial=True)
    )
    capacity = forms.IntegerField(
        label=_("Capacity"),
        required=False,
        min_value=0,
        max_value=MAX_CAPACITY,
        help_text=_("Number of places. Leave empty for no limit."),
    )
    waitlist_enabled = _check(
        forms.BooleanField(
            label=_("Waiting list when full"),
            initial=True,
            help_text=_("When someone cancels, the first waiting gets the place and an email."),
        )
    )
    registrations_open = _check(forms.BooleanField(label=_("Registrations open"), initial=True))
    is_free = _check(forms.BooleanField(label=_("Free of charge"), initial=True))
    price_info = forms.CharField(
        label=_("Price information"),
        required=False,
        max_length=200,
        help_text=_("As you want it shown, for example “5 €, free for members”."),
    )
    organiser_name = forms.CharField(label=_("Organiser"), required=False, max_length=150)
    organiser_email = forms.EmailField(label=_("Organiser's email"), required=False)
    organiser_phone = forms.CharField(
        label=_("Organiser's phone"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    status = forms.ChoiceField(
        label=_("Publication"),
        choices=STATUS_CHOICES,
        widget=forms.RadioSelect,
        initial=Event.Status.PUBLISHED,
    )

    WHAT_FIELDS = ("title", "description", "category", "audience", "language", "image")
    REGISTRATION_FIELDS = (
        "registration_required",
        "capacity",
        "waitlist_enabled",
        "registrations_open",
    )
    ORGANISER_FIELDS = ("organiser_name", "organiser_email", "organiser_phone")
    CHECKBOXES = ("registration_required", "waitlist_enabled", "registrations_open", "is_free")
    REPEAT_FIELDS = ("repeat", "count", "rrule")

    def __init__(
        self,
        *args,
        place=None,
        network=None,
        event: Event | None = None,
        author=None,
        **kwargs,
    ):
        self.place, self.network, self.event = place, network, event
        self.zone = zone_of(place=place, network=network)
        initial = kwargs.pop("initial", None) or {}
        if event is not None:
            initial = {**self.initial_from(event), **initial}
        elif author is not None:
            initial.setdefault("organiser_name", author.full_name)
            initial.setdefault("organiser_email", author.email)
        initial.setdefault("location", Event.Location.PLACE if place else Event.Location.ADDRESS)
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["description"].help_text = escape(
            gettext(
                "Plain text, or HTML with these tags only: %(tags)s; anything else is removed. "
                "In plain text a blank line starts a new paragraph."
            )
            % {"tags": ", ".join(f"<{tag}>" for tag in sorted(ALLOWED_TAGS))}
        )
        self.fields["start"].help_text = self.fields["end"].help_text = gettext(
            "Local time (%(zone)s)."
        ) % {"zone": self.zone.key}
        if "count" in self.fields:
            self.fields["count"].help_text = gettext(
                "The first date included, at most %(max)d."
            ) % {"max": MAX_SERIES_DATES}
        for language in TRANSLATED_LANGUAGES:
            name = dict(settings.LANGUAGES)[language]
            self.fields[f"title_{language}"] = forms.CharField(
                label=gettext("Title in %(language)s") % {"language": name},
                required=False,
                max_length=200,
            )
            self.fields[f"description_{language}"] = forms.CharField(
                label=gettext("Description in %(language)s") % {"language": name},
                required=False,
                widget=forms.Textarea(attrs={"rows": 4}),
            )
        if place is None:
            del self.fields["room"]
            self.fields["location"].choices = [
                (code, label)
                for code, label in Event.Location.choices
                if code in (Event.Location.ADDRESS, Event.Location.ONLINE)
            ]
        else:
            rooms = Q(place=place, is_active=True, kind__in=ROOM_KINDS)
            if event is not None and event.booking_id:
                rooms |= Q(pk=event.booking.resource_id)
            self.fields["room"].queryset = Resource.objects.filter(rooms).order_by("name")
            self.fields["room"].label_from_instance = _room_label
        if event is not None:
            for name in self.REPEAT_FIELDS:
                del self.fields[name]

    def initial_from(self, event: Event) -> dict:
        initial = {name: getattr(event, name) for name in self.base_fields if hasattr(event, name)}
        initial["start"] = event.start.astimezone(self.zone).replace(tzinfo=None)
        initial["end"] = event.end.astimezone(self.zone).replace(tzinfo=None)
        initial["image"] = event.image
        if event.booking_id:
            initial["room"] = event.booking.resource_id
        for language, texts in (event.translations or {}).items():
            initial[f"title_{language}"] = texts.get("title", "")
            initial[f"description_{language}"] = texts.get("description", "")
        return initial

    # The groups of the template.
    def what_fields(self):
        return [self[name] for name in self.WHAT_FIELDS]

    def registration_fields(self):
        return [self[name] for name in self.REGISTRATION_FIELDS]

    def organiser_fields(self):
        return [self[name] for name in self.ORGANISER_FIELDS]

    def translation_groups(self):
        return [
            (
                dict(settings.LANGUAGES)[language],
                self[f"title_{language}"],
                self[f"description_{language}"],
            )
            for language in TRANSLATED_LANGUAGES
        ]

    def has_translations(self) -> bool:
        return any(
            self[f"{field}_{language}"].value() or self[f"{field}_{language}"].errors
            for language in TRANSLATED_LANGUAGES
            for field in ("title", "description")
        )

    @property
    def repeats(self) -> bool:
        return "repeat" in self.fields

    # Validation.
    def clean(self):
        data = super().clean()
        start = self._moment(data.get("start"), "start")
        end = self._moment(data.get("end"), "end")
        data["start"], data["end"] = start, end
        if start and end and end <= start:
            self.add_error("end", _("The end must come after the start."))
        location = data.get("location")
        if self.place is not None:
            if location == Event.Location.ROOM and not data.get("room"):
                self.add_error("room", _("Choose a room of this place."))
            if location != Event.Location.ROOM:
                data["room"] = None
        if location == Event.Location.ADDRESS and not data.get("address", "").strip():
            self.add_error("address", _("Give the address where the event takes place."))
        if location == Event.Location.ONLINE and not data.get("online_url"):
            self.add_error("online_url", _("Give the link to join the event online."))
        if data.get("is_free") is False and not data.get("price_info", "").strip():
            self.add_error("price_info", _("Say what it costs, or tick “Free of charge”."))
        if self.repeats:
            data["rrule"] = self._rrule(data)
        return data

    def _moment(self, local: dt.datetime | None, field: str) -> dt.datetime | None:
        if local is None:
            return None
        today = timezone.now().astimezone(self.zone).replace(tzinfo=None)
        if abs(local - today) > DATE_RANGE:
            self.add_error(field, _("Choose a date within ten years of today."))
            return None
        moment = local.replace(tzinfo=self.zone)
        if not exists_locally(moment, self.zone):
            self.add_error(
                field,
                forms.ValidationError(
                    _(
                        "%(time)s does not exist on %(date)s in %(zone)s: the clocks go forward "
                        "that night. Choose another time."
                    ),
                    params={
                        "time": f"{local:%H:%M}",
                        "date": f"{local:%d/%m/%Y}",
                        "zone": self.zone.key,
                    },
                    code="nonexistent_time",
                ),
            )
            return None
        return moment

    def _rrule(self, data) -> str:
        """The RFC 5545 rule of the repetition: the expert's, or one built from the choices."""
        raw = data.get("rrule", "").strip()
        repeat, count = data.get("repeat"), data.get("count")
        if raw:
            if repeat or count:
                self.add_error("rrule", _("Give either a repeat rule or a choice above, not both."))
            return raw.upper().removeprefix("RRULE:")
        if not repeat:
            if count:
                self.add_error("repeat", _("Choose how the event repeats."))
            return ""
        if not count:
            self.add_error("count", _("Say how many dates the series has."))
            return ""
        parts = {
            "weekly": ["FREQ=WEEKLY"],
            "fortnightly": ["FREQ=WEEKLY", "INTERVAL=2"],
            "monthly_weekday": ["FREQ=MONTHLY"],
        }[repeat]
        start = data.get("start")
        if repeat == "monthly_weekday":
            if start is None:
                return ""
            parts.append(f"BYDAY={nth_weekday(start.astimezone(self.zone).date())}")
        parts.append(f"COUNT={count}")
        return ";".join(parts)

    def service_field(self, key: str) -> str | None:
        """The field showing an error the services raised about `key`."""
        if key == "rrule" and self.repeats:
            return "rrule" if self.data.get("rrule", "").strip() else "repeat"
        if key == "translations":
            return None
        return key if key in self.fields else None

    def values(self) -> dict:
        """The validated values in the shape services.event_create/event_update take (the room
        apart)."""
        data = self.cleaned_data
        values = {
            name: data[name]
            for name in (
                "title",
                "category",
                "audience",
                "language",
                "start",
                "end",
                "location",
                "online_url",
                "registration_required",
                "capacity",
                "waitlist_enabled",
                "registrations_open",
                "is_free",
                "organiser_name",
                "organiser_email",
                "organiser_phone",
                "status",
            )
        }
        values["title"] = values["title"].strip()
        values["description"] = as_html(data["description"])
        values["address"] = (
            data["address"].strip() if data["location"] == Event.Location.ADDRESS else ""
        )
        values["price_info"] = "" if data["is_free"] else data["price_info"].strip()
        translations = {}
        for language in TRANSLATED_LANGUAGES:
            texts = {
                "title": data[f"title_{language}"].strip(),
                "description": as_html(data[f"description_{language}"]),
            }
            texts = {key: text for key, text in texts.items() if text}
            if texts:
                translations[language] = texts
        values["translations"] = translations
        if self.event is None:
            if data["image"]:
                values["image"] = data["image"]
        elif "image" in self.changed_data:  # a new image, or the current one cleared (False)
            values["image"] = data["image"] or ""
        return values


def _room_label(room: Resource) -> str:
    return ngettext(
        "%(name)s (%(kind)s, %(capacity)d person)",
        "%(name)s (%(kind)s, %(capacity)d people)",
        room.capacity,
    ) % {
        "name": room.name,
        "kind": room.get_kind_display(),
        "capacity": room.capacity,
    }


def nth_weekday(day: dt.date) -> str:
    """ "2TU" for the second Tuesday of its month; "-1TU" for a fifth one (the last)."""
    nth = (day.day - 1) // 7 + 1
    return f"{-1 if nth == 5 else nth}{WEEKDAY_CODES[day.weekday()]}"


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is it cancelled? (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Sent to everyone registered or waiting, in the email that tells them."),
    )


class CapacityForm(forms.Form):
    capacity = forms.IntegerField(
        label=_("Capacity"),
        required=False,
        min_value=0,
        max_value=MAX_CAPACITY,
        help_text=_("Leave empty for no limit. Raising it gives places to the waiting list."),
    )


class RegistrationsForm(forms.Form):
    registrations_open = forms.TypedChoiceField(
        choices=[("1", _("Open")), ("0", _("Close"))], coerce=lambda value: value == "1"
    )


class RegistrationChoiceForm(forms.Form):
    """Which registration of the event a button is about (cancel, check in)."""

    registration = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    undo = forms.BooleanField(required=False, widget=forms.HiddenInput)
    q = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)


class OnBehalfForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    email = forms.EmailField(label=_("Email"))
    language = forms.ChoiceField(
        label=_("Language of the emails"), choices=settings.LANGUAGES, initial="fr"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="behalf", **kwargs)


class MessageForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=150)
    body = forms.CharField(
        label=_("Message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("Plain text. Each email also gives the event's details and links."),
    )
    include_waitlist = forms.BooleanField(
        label=_("Also write to the people on the waiting list"), required=False
    )


class CheckinSearchForm(forms.Form):
    q = forms.CharField(label=_("Name or email"), required=False, max_length=100)


def add_service_errors(form: forms.Form, error: ValidationError, *, fallback=None) -> None:
    """Show a ValidationError raised by a service on the form: each message on its field when
    the form has one, the others on `fallback` or at the top."""
    field_of = getattr(form, "service_field", lambda key: key if key in form.fields else None)
    if not hasattr(error, "error_dict"):
        form.add_error(fallback, error.messages)
        return
    for key, messages in error.message_dict.items():
        form.add_error(field_of(key) or fallback, messages)
