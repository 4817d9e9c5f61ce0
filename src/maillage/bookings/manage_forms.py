"""Forms of the manager pages of bookings (and of the resources API, which validates with them)."""

import datetime as dt
import itertools
from collections import Counter

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from maillage.accounts.models import User
from maillage.core.images import NormalisedImageField
from maillage.places import vocabulary as place_vocabulary
from maillage.places.forms import WeekHoursForm
from maillage.places.models import OpeningHours, Place

from . import services, vocabulary
from .models import Resource

# Upper bounds that keep date arithmetic of bookings far from overflows and values sensible.
MAX_CAPACITY = 10_000
MAX_BOOKING_MINUTES = 31 * 24 * 60
MAX_HORIZON_DAYS = 5 * 366
MAX_BUFFER_MINUTES = 24 * 60
MAX_CANCEL_DEADLINE_HOURS = 366 * 24

Interval = tuple[int, dt.time, dt.time]

# Keys of the services' ValidationError dicts that are not the name of a form field.
_SERVICE_KEYS = {"service": "services", "character": "character", "__all__": None}


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a ValidationError raised by a service on the form: each message on its field when the
    form has one, the others at the top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, messages in error.message_dict.items():
        name = _SERVICE_KEYS.get(key, key)
        form.add_error(name if name in form.fields else None, messages)


def _overlaps(intervals: list[Interval]) -> set[int]:
    """Weekdays on which two intervals overlap."""
    days = set()
    ordered = sorted(intervals)
    for (day, _opens, closes), (next_day, next_opens, _closes) in itertools.pairwise(ordered):
        if day == next_day and next_opens < closes:
            days.add(day)
    return days


class ResourceHoursForm(WeekHoursForm):
    """A resource's own bookable hours: up to three intervals a day (a fablab opens in the
    morning, the afternoon and for an evening open lab). All empty: the place's opening hours."""

    SLOTS = 3

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Screen readers announce each time field alone: say which interval it belongs to.
        labels = {
            "opens": _("%(day)s, interval %(number)d, from"),
            "closes": _("%(day)s, interval %(number)d, to"),
        }
        for weekday, day_label in OpeningHours.Weekday.choices:
            for slot in range(self.SLOTS):
                for end, label in labels.items():
                    self.fields[f"d{weekday}_{slot}_{end}"].label = label % {
                        "day": day_label,
                        "number": slot + 1,
                    }

    def clean(self):
        data = super().clean()
        for weekday in _overlaps(data["intervals"]):
            self.add_error(
                f"d{weekday}_0_opens",
                _("%(day)s: the intervals overlap.") % {"day": OpeningHours.Weekday(weekday).label},
            )
        return data


class IntervalForm(forms.Form):
    """One interval of bookable hours given through the API: {weekday, opens, closes}."""

    weekday = forms.TypedChoiceField(
        label=_("day"), coerce=int, choices=OpeningHours.Weekday.choices
    )
    opens = forms.TimeField(label=_("from"))
    closes = forms.TimeField(label=_("to"))

    def clean(self):
        data = super().clean()
        opens, closes = data.get("opens"), data.get("closes")
        if opens is not None and closes is not None and not opens < closes:
            raise forms.ValidationError(_("Each interval must close after it opens."))
        return data


def clean_intervals(rows: list[dict]) -> tuple[list[Interval], list[str]]:
    """Validate intervals given as dicts; returns them and the messages of the invalid ones."""
    intervals, errors = [], []
    for number, row in enumerate(rows, start=1):
        form = IntervalForm(row)
        if not form.is_valid():
            messages = [str(m) for field_messages in form.errors.values() for m in field_messages]
            errors.append(
                _("Interval %(number)d: %(errors)s")
                % {"number": number, "errors": " ".join(messages)}
            )
            continue
        intervals.append(
            (form.cleaned_data["weekday"], form.cleaned_data["opens"], form.cleaned_data["closes"])
        )
    for weekday in sorted(_overlaps(intervals)):
        errors.append(
            _("%(day)s: the intervals overlap.") % {"day": OpeningHours.Weekday(weekday).label}
        )
    per_day = Counter(weekday for weekday, _opens, _closes in intervals)
    for weekday in sorted(day for day, count in per_day.items() if count > ResourceHoursForm.SLOTS):
        errors.append(
            _("%(day)s: at most %(max)d intervals a day.")
            % {"day": OpeningHours.Weekday(weekday).label, "max": ResourceHoursForm.SLOTS}
        )
    return intervals, errors


def _bounded(model_field, **kwargs):
    """Form fields of Resource with the bounds the model leaves to the database."""
    bounds = {
        "capacity": (1, MAX_CAPACITY),
        "min_minutes": (1, MAX_BOOKING_MINUTES),
        "max_minutes": (1, MAX_BOOKING_MINUTES),
        "horizon_days": (1, MAX_HORIZON_DAYS),
        "buffer_minutes": (0, MAX_BUFFER_MINUTES),
        "cancel_deadline_hours": (0, MAX_CANCEL_DEADLINE_HOURS),
    }
    if model_field.name in bounds:
        kwargs["min_value"], kwargs["max_value"] = bounds[model_field.name]
    return model_field.formfield(**kwargs)


class ResourceForm(forms.ModelForm):
    """A bookable resource with its services, character and photo. save() writes it, its terms
    and its own hours through the services, all or nothing."""

    services = forms.MultipleChoiceField(
        label=_("Services"),
        required=False,
        choices=place_vocabulary.choices(place_vocabulary.SERVICES),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What this resource itself offers; searches for a service find it."),
    )
    character = forms.MultipleChoiceField(
        label=_("Character"),
        required=False,
        choices=place_vocabulary.choices(vocabulary.CHARACTER),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What makes it pleasant; the “charm” order of the search ranks by it."),
    )
    photo = NormalisedImageField(label=_("Photo"), required=False)

    class Meta:
        model = Resource
        formfield_callback = _bounded
        fields = [
            "name",
            "kind",
            "description",
            "capacity",
            "price_info",
            "min_minutes",
            "max_minutes",
            "horizon_days",
            "buffer_minutes",
            "cancel_deadline_hours",
            "audience",
            "requires_approval",
            "training",
            "is_active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "price_info": _(
                "As you want it shown, for example “15 € the half-day, free for members”."
            ),
            "min_minutes": _("60 for one hour."),
            "max_minutes": _("600 for ten hours."),
            "buffer_minutes": _("Time to tidy up or air the room: nobody can book it then."),
            "cancel_deadline_hours": _("0: bookers may cancel until the start."),
            "requires_approval": _("Each booking waits until the team approves or refuses it."),
            "training": _(
                "Only for machines: members must hold a validated training of this type, given "
                "by this place or by any place of its networks."
            ),
            "is_active": _("Untick to stop new bookings; bookings already made are kept."),
        }

    DESCRIPTION_FIELDS = ("name", "kind", "description", "capacity", "price_info", "photo")
    RULE_FIELDS = (
        "min_minutes",
        "max_minutes",
        "horizon_days",
        "buffer_minutes",
        "cancel_deadline_hours",
        "audience",
        "requires_approval",
        "training",
        "is_active",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("services", self.instance.services)
            self.initial.setdefault("character", self.instance.character)
            self.initial.setdefault("photo", self.instance.photo)

    def description_fields(self):
        return [self[name] for name in self.DESCRIPTION_FIELDS]

    def rule_fields(self):
        return [self[name] for name in self.RULE_FIELDS]

    def clean(self):
        data = super().clean()
        shortest, longest = data.get("min_minutes"), data.get("max_minutes")
        if shortest is not None and longest is not None and longest < shortest:
            self.add_error(
                "max_minutes", _("The longest booking cannot be shorter than the shortest.")
            )
        return data

    def values(self) -> dict:
        """The validated values in the shape services.resource_create/resource_update take."""
        values = {name: self.cleaned_data[name] for name in self.Meta.fields}
        if "photo" in self.changed_data:  # a new photo, or the current one cleared (False)
            values["photo"] = self.cleaned_data["photo"] or ""
        values["services"] = self.cleaned_data["services"]
        values["character"] = self.cleaned_data["character"]
        return values

    @transaction.atomic
    def _write(self, *, place: Place, author: User, intervals: list[Interval] | None) -> Resource:
        if self.instance.pk:
            # The instance was changed in memory by validation: the service compares the new
            # values with the stored ones, to record what changed.
            resource = Resource.objects.select_for_update().get(pk=self.instance.pk)
            if self.has_changed():
                resource = services.resource_update(
                    resource=resource, author=author, **self.values()
                )
        else:
            resource = services.resource_create(place=place, author=author, **self.values())
        current = sorted((h.weekday, h.opens, h.closes) for h in resource.hours.all())
        if intervals is not None and sorted(intervals) != current:
            services.resource_hours_set(resource=resource, intervals=intervals, author=author)
        return resource

    def save(self, *, author: User, intervals: list[Interval] | None = None) -> Resource | None:
        """Create or update the resource of this valid form, with its own bookable hours when
        `intervals` is given ([] = the place's hours). Returns None, writing nothing, when a
        service refused the values: their messages are then on the form."""
        try:
            return self._write(place=self.instance.place, author=author, intervals=intervals)
        except ValidationError as error:
            add_service_errors(self, error)
            return None


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("approve", _("Approve")), ("refuse", _("Refuse"))]
    )
    note = forms.CharField(
        label=_("Message to the booker (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    @property
    def approve(self) -> bool:
        return self.cleaned_data["decision"] == "approve"


class TrainingForm(forms.Form):
    email = forms.EmailField(label=_("Email of the member's account"))
    machine_type = forms.ChoiceField(
        label=_("Machine type"),
        choices=[
            ("", _("Choose a machine type")),
            *place_vocabulary.choices(vocabulary.MACHINE_TYPES),
        ],
    )
    expires_on = forms.DateField(
        label=_("Valid until (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Leave empty for a training that does not expire."),
    )

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        member = User.objects.filter(email__iexact=email, is_active=True).first()
        if member is None:
            raise forms.ValidationError(
                _("Nobody has an account with this email. Ask the person to sign up first.")
            )
        self.member = member
        return email
