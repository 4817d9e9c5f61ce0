import datetime as dt
import zoneinfo

from django import forms
from django.conf import settings
from django.core import signing
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from maillage.accounts.models import PlaceRole, User
from maillage.core.images import NormalisedImageField

from . import services, vocabulary
from .models import (
    Animator,
    Equipment,
    Network,
    OpeningHours,
    Place,
    PlacePhoto,
    PlaceProposal,
    Season,
)
from .selectors import MAX_RADIUS_KM, DirectoryFilters, Point, geocode_town

DEFAULT_RADIUS_KM = 30.0


def parse_point(raw: str) -> Point:
    """Parse "LAT,LON" (WGS84 degrees) or raise a translated ValidationError."""
    try:
        lat_text, lon_text = raw.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise forms.ValidationError(
            _("Give a position as latitude,longitude, for example 44.5181,3.5006."),
            code="invalid_point",
        ) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or lat != lat or lon != lon:
        raise forms.ValidationError(
            _("Latitude must be between -90 and 90 and longitude between -180 and 180."),
            code="point_out_of_range",
        )
    return Point(lat, lon)


class AreaForm(forms.Form):
    """Where to search: near a town of our places or a position, within a radius, in a network.

    Shared by the directory's filters and the availability search, which both read the point
    with `located(data)` in their `clean()`.
    """

    network = forms.SlugField(label=_("Network"), required=False)
    town = forms.CharField(label=_("Near the town"), required=False, max_length=120)
    near = forms.CharField(label=_("Near the position"), required=False, max_length=60)
    radius_km = forms.FloatField(label=_("Within (km)"), required=False)

    def clean_near(self):
        raw = self.cleaned_data["near"].strip()
        return parse_point(raw) if raw else None

    def clean_radius_km(self):
        radius = self.cleaned_data["radius_km"]
        if radius is None:
            return None
        if radius != radius or radius <= 0 or radius > MAX_RADIUS_KM:
            raise forms.ValidationError(
                _("The radius must be more than 0 and at most %(max)d km."),
                params={"max": MAX_RADIUS_KM},
                code="radius_out_of_range",
            )
        return radius

    def clean_network(self):
        slug = self.cleaned_data["network"]
        if slug and not Network.objects.filter(slug=slug).exists():
            raise forms.ValidationError(_("There is no network “%(slug)s”."), params={"slug": slug})
        return slug

    def located(self, data: dict) -> tuple[Point | None, str] | None:
        """The point to search around and the town's name (empty for a position), or None after
        adding an error when the town is none of our places'."""
        if data.get("near") is not None or not data.get("town"):
            return data.get("near"), ""
        located = geocode_town(data["town"])
        if located is None:
            self.add_error(
                "town",
                _(
                    "No place of the directory is in “%(town)s”. "
                    "Check the spelling or try a nearby town."
                )
                % {"town": data["town"]},
            )
        return located


class DirectoryFilterForm(AreaForm):
    """Directory criteria, shared by the list page, the map, the exports and the API."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    function = forms.MultipleChoiceField(
        label=_("Functions"),
        required=False,
        choices=vocabulary.choices(vocabulary.FUNCTIONS),
        widget=forms.CheckboxSelectMultiple,
    )
    service = forms.MultipleChoiceField(
        label=_("Services"),
        required=False,
        choices=vocabulary.choices(vocabulary.SERVICES),
        widget=forms.CheckboxSelectMultiple,
    )
    language = forms.MultipleChoiceField(
        label=_("Languages spoken"),
        required=False,
        choices=vocabulary.choices(vocabulary.LANGUAGES),
        widget=forms.CheckboxSelectMultiple,
    )
    accessibility = forms.MultipleChoiceField(
        label=_("Accessibility"),
        required=False,
        choices=vocabulary.choices(vocabulary.ACCESSIBILITY),
        widget=forms.CheckboxSelectMultiple,
    )
    open_now = forms.BooleanField(label=_("Open now"), required=False)
    open_on = forms.DateField(
        label=_("Open on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    open_time = forms.TimeField(
        label=_("Time of day"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    open_at = forms.DateTimeField(label=_("Open at"), required=False)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        located = self.located(data)
        if located is None:
            return data
        point, town_name = located
        open_at = data.get("open_at")
        if open_at is not None and timezone.is_naive(open_at):
            open_at = timezone.make_aware(open_at)
        if open_at is None and data.get("open_now"):
            open_at = timezone.now()
        if open_at is None and data.get("open_on"):
            at = data.get("open_time") or dt.time(10, 0)
            open_at = dt.datetime.combine(
                data["open_on"], at, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE)
            )
        if open_at is not None and not dt.MINYEAR < open_at.year < dt.MAXYEAR:
            # At the ends of the calendar an instant cannot be read in every time zone.
            name = "open_at" if data.get("open_at") else "open_on"
            self.add_error(name, self.fields[name].error_messages["invalid"])
            return data
        data["located_town"] = town_name
        data["filters"] = DirectoryFilters(
            q=data.get("q", "").strip(),
            functions=data.get("function") or [],
            services=data.get("service") or [],
            languages=data.get("language") or [],
            accessibility=data.get("accessibility") or [],
            network=data.get("network") or "",
            near=point,
            radius_km=(data.get("radius_km") or DEFAULT_RADIUS_KM) if point else None,
            open_at=open_at,
        )
        return data


def _formfield(model_field, **kwargs):
    # Addresses typed without a scheme get https://, as Django 6 will do by default.
    if isinstance(model_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return model_field.formfield(**kwargs)


class PlaceForm(forms.ModelForm):
    functions = forms.MultipleChoiceField(
        label=_("Functions"),
        required=False,
        choices=vocabulary.choices(vocabulary.FUNCTIONS),
        widget=forms.CheckboxSelectMultiple,
    )
    services = forms.MultipleChoiceField(
        label=_("Services"),
        required=False,
        choices=vocabulary.choices(vocabulary.SERVICES),
        widget=forms.CheckboxSelectMultiple,
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages spoken"),
        required=False,
        choices=vocabulary.choices(vocabulary.LANGUAGES),
        widget=forms.CheckboxSelectMultiple,
    )
    accessibility = forms.MultipleChoiceField(
        label=_("Accessibility"),
        required=False,
        choices=vocabulary.choices(vocabulary.ACCESSIBILITY),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Place
        formfield_callback = _formfield
        fields = [
            "name",
            "summary",
            "description",
            "address",
            "postcode",
            "town",
            "latitude",
            "longitude",
            "email",
            "phone",
            "website",
            "time_zone",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 6}),
            "latitude": forms.NumberInput(attrs={"step": "any"}),
            "longitude": forms.NumberInput(attrs={"step": "any"}),
        }
        help_texts = {
            "latitude": _("In decimal degrees, for example 44.5181."),
            "longitude": _("In decimal degrees, for example 3.5006."),
        }

    TRANSLATED_FIELDS = ("summary", "description")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in ("functions", "services", "languages", "accessibility"):
                self.initial.setdefault(name, getattr(self.instance, name))
        # The main fields are in the site's language; the others may be given too.
        translations = self.instance.translations or {}
        for code, language_name in self.other_languages():
            for field in self.TRANSLATED_FIELDS:
                base = self.fields[field]
                name = f"{field}_{code}"
                self.fields[name] = forms.CharField(
                    label=_("%(field)s (%(language)s)")
                    % {"field": base.label, "language": language_name},
                    required=False,
                    max_length=getattr(base, "max_length", None),
                    widget=forms.Textarea(attrs={"rows": 3, "lang": code})
                    if field == "description"
                    else forms.TextInput(attrs={"lang": code}),
                )
                self.initial.setdefault(name, translations.get(code, {}).get(field, ""))

    @staticmethod
    def other_languages():
        return [(c, n) for c, n in settings.LANGUAGES if c != settings.LANGUAGE_CODE]

    def translation_fields(self):
        return [
            self[name]
            for name in self.fields
            if name.rsplit("_", 1)[-1] in dict(self.other_languages())
            and name.rsplit("_", 1)[0] in self.TRANSLATED_FIELDS
        ]

    def main_fields(self):
        extra = {field.name for field in self.translation_fields()}
        return [field for field in self.visible_fields() if field.name not in extra]

    def clean_latitude(self):
        value = self.cleaned_data["latitude"]
        if value is not None and not -90 <= value <= 90:
            raise forms.ValidationError(_("Latitude must be between -90 and 90."))
        return value

    def clean_longitude(self):
        value = self.cleaned_data["longitude"]
        if value is not None and not -180 <= value <= 180:
            raise forms.ValidationError(_("Longitude must be between -180 and 180."))
        return value

    def place_data(self) -> dict:
        """The validated values in the shape services.place_create/place_update take."""
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        for name in ("functions", "services", "languages", "accessibility"):
            data[name] = self.cleaned_data[name]
        translations = {}
        for code, _name in self.other_languages():
            texts = {
                field: self.cleaned_data.get(f"{field}_{code}", "").strip()
                for field in self.TRANSLATED_FIELDS
            }
            texts = {field: text for field, text in texts.items() if text}
            if texts:
                translations[code] = texts
        data["translations"] = translations
        return data


class ProposalForm(PlaceForm):
    """A place or a correction proposed by anyone; spam is kept out by a honeypot and a timer."""

    MIN_SECONDS = 3
    proposer_name = forms.CharField(label=_("Your name"), max_length=120, required=False)
    proposer_email = forms.EmailField(
        label=_("Your email"),
        required=False,
        help_text=_("Only to tell you what the moderators decided. Never shown."),
    )
    message = forms.CharField(
        label=_("Message to the moderators"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    network = forms.ModelChoiceField(
        label=_("Network"), queryset=Network.objects.all(), required=False
    )
    # Honeypot: hidden from people by CSS, filled in by robots.
    nickname = forms.CharField(label=_("Leave this field empty"), required=False)
    started = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta(PlaceForm.Meta):
        fields = [f for f in PlaceForm.Meta.fields if f != "time_zone"]

    def __init__(self, *args, user=None, anti_spam=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if anti_spam:
            self.fields["started"].initial = signing.dumps(timezone.now().timestamp())
        else:
            # API callers have no page to time: the rate limit and tokens defend the API.
            del self.fields["started"], self.fields["nickname"]
        if user is not None and user.is_authenticated:
            del self.fields["proposer_name"]
            del self.fields["proposer_email"]
        else:
            self.fields["proposer_email"].required = True

    def clean(self):
        data = super().clean()
        if "started" in self.fields:
            self._refuse_automated(data)
        if self.instance.pk and not self.errors and not self.place_data():
            raise forms.ValidationError(_("You changed nothing: correct at least one value."))
        return data

    def _refuse_automated(self, data) -> None:
        if data.get("nickname"):
            raise forms.ValidationError(_("Your proposal looks automated and was not saved."))
        try:
            started = float(signing.loads(data.get("started") or "", max_age=86400))
        except (signing.BadSignature, TypeError, ValueError):
            raise forms.ValidationError(
                _("This form has expired. Reload the page and try again.")
            ) from None
        if timezone.now().timestamp() - started < self.MIN_SECONDS:
            raise forms.ValidationError(_("Your proposal looks automated and was not saved."))

    def submit(self) -> PlaceProposal:
        """Record the validated proposal (a correction when the form was bound to a place)."""
        place = self.instance if self.instance.pk else None
        user = self.user if self.user is not None and self.user.is_authenticated else None
        return services.proposal_submit(
            kind=PlaceProposal.Kind.CORRECTION if place else PlaceProposal.Kind.NEW,
            payload=self.place_data(),
            place=place,
            network=self.cleaned_data.get("network"),
            proposer=user,
            proposer_name=self.cleaned_data.get("proposer_name", ""),
            proposer_email=self.cleaned_data.get("proposer_email", ""),
            message=self.cleaned_data.get("message", ""),
        )

    def place_data(self) -> dict:
        data = super().place_data()
        data["time_zone"] = self.instance.time_zone if self.instance.pk else settings.TIME_ZONE
        if not self.instance.pk:
            return data
        # A correction carries only what the proposer changed, so that approving it later
        # never reverts what a manager edited in the meantime.
        changed = set(self.changed_data)
        proposed = {k: v for k, v in data.items() if k in changed}
        if any(name.rsplit("_", 1)[0] in self.TRANSLATED_FIELDS for name in changed - set(data)):
            proposed["translations"] = data["translations"]
        return proposed


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason given to the proposer"), widget=forms.Textarea(attrs={"rows": 3})
    )


class WeekHoursForm(forms.Form):
    """Two opening intervals per weekday (morning and afternoon), empty when closed."""

    SLOTS = 2

    def __init__(self, *args, rules=(), **kwargs):
        super().__init__(*args, **kwargs)
        by_day: dict[int, list] = {}
        for rule in rules:
            by_day.setdefault(rule.weekday, []).append(rule)
        for weekday, day_label in OpeningHours.Weekday.choices:
            existing = sorted(by_day.get(weekday, []), key=lambda r: r.opens)
            for slot in range(self.SLOTS):
                for end in ("opens", "closes"):
                    name = f"d{weekday}_{slot}_{end}"
                    self.fields[name] = forms.TimeField(
                        label=(
                            _("%(day)s, opening time")
                            if end == "opens"
                            else _("%(day)s, closing time")
                        )
                        % {"day": day_label},
                        required=False,
                        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                    )
                    if slot < len(existing):
                        self.initial[name] = getattr(existing[slot], end)

    def days(self):
        """Rows for the template: (label, [(opens field, closes field), ...])."""
        for weekday, day_label in OpeningHours.Weekday.choices:
            yield (
                day_label,
                [
                    (self[f"d{weekday}_{slot}_opens"], self[f"d{weekday}_{slot}_closes"])
                    for slot in range(self.SLOTS)
                ],
            )

    def clean(self):
        data = super().clean()
        intervals = []
        for weekday, day_label in OpeningHours.Weekday.choices:
            for slot in range(self.SLOTS):
                opens = data.get(f"d{weekday}_{slot}_opens")
                closes = data.get(f"d{weekday}_{slot}_closes")
                if opens is None and closes is None:
                    continue
                if opens is None or closes is None or not opens < closes:
                    self.add_error(
                        f"d{weekday}_{slot}_closes",
                        _("%(day)s: give an opening time and a later closing time.")
                        % {"day": day_label},
                    )
                    continue
                intervals.append((weekday, opens, closes))
        data["intervals"] = intervals
        return data


class SeasonForm(forms.ModelForm):
    class Meta:
        model = Season
        fields = ["name", "start_date", "end_date", "yearly", "closed"]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "end_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {
            "yearly": _("Repeats every year on the same days; may span New Year."),
            "closed": _("Tick for a closure; otherwise give the season's own hours below."),
        }

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and not data.get("yearly") and end < start:
            self.add_error("end_date", _("The last day must not come before the first day."))
        return data


class ProposalStatusFilter(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *PlaceProposal.Status.choices],
    )


class PhotoForm(forms.ModelForm):
    image = NormalisedImageField(label=_("Photo"))

    class Meta:
        model = PlacePhoto
        fields = ["image", "alt_text"]
        help_texts = {"alt_text": _("What the photo shows, for people who cannot see it.")}


class AnimatorForm(forms.ModelForm):
    photo = NormalisedImageField(label=_("Photo"), required=False, max_side=400)

    class Meta:
        model = Animator
        fields = ["name", "role", "photo"]


class EquipmentForm(forms.ModelForm):
    class Meta:
        model = Equipment
        fields = ["name", "quantity", "notes"]


PhotoFormSet = forms.inlineformset_factory(
    Place, PlacePhoto, form=PhotoForm, extra=1, can_delete=True, max_num=12
)
AnimatorFormSet = forms.inlineformset_factory(
    Place, Animator, form=AnimatorForm, extra=1, can_delete=True, max_num=30
)
EquipmentFormSet = forms.inlineformset_factory(
    Place, Equipment, form=EquipmentForm, extra=2, can_delete=True, max_num=100
)


class PlaceRoleForm(forms.Form):
    email = forms.EmailField(
        label=_("Email of the person"),
        help_text=_("Someone without an account gets one, with an email inviting them in."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=PlaceRole.Role.choices)

    def __init__(self, *args, allowed_roles=(), place=None, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.allowed_roles, self.place, self.actor = allowed_roles, place, actor
        self.fields["role"].choices = [
            (value, label) for value, label in PlaceRole.Role.choices if value in allowed_roles
        ]

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        existing = User.objects.filter(email__iexact=email).first()
        if existing is not None and not existing.is_active:
            raise forms.ValidationError(_("This account is closed."))
        current = PlaceRole.objects.filter(place=self.place, user=existing).first()
        if current and (current.role not in self.allowed_roles or existing == self.actor):
            # Changing someone's role is giving a role: never to someone at or above oneself.
            raise forms.ValidationError(
                _("Only someone above you in this place can change this person's role.")
            )
        return email


class CoordinationForm(forms.Form):
    networks = forms.ModelMultipleChoiceField(
        label=_("Listed in the networks"),
        queryset=Network.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_published = forms.BooleanField(
        label=_("Published in the directory"),
        required=False,
        help_text=_("Untick for a place that closed for good: it disappears from searches."),
    )

    def __init__(self, *args, place: Place, networks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["networks"].queryset = networks
        self.initial.setdefault(
            "networks", [n.pk for n in place.networks.all() if n in set(networks)]
        )
        self.initial.setdefault("is_published", place.is_published)
