"""Criteria of the network availability search, shared by its page and its API endpoint so that
both validate alike and every message is translated, and the link that books a found window."""

import datetime as dt
import zoneinfo
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from maillage.places import vocabulary as place_vocabulary
from maillage.places.forms import DEFAULT_RADIUS_KM, AreaForm

from .forms import DATE_RANGE, local_moment
from .models import Resource
from .selectors import AvailabilityQuery, Available

# A search asks for one stretch of time; a longer window is a typing mistake.
MAX_WINDOW = dt.timedelta(days=14)
MAX_PEOPLE = 10_000
# Results computed per search, for the page and the API (which counts no further).
MAX_RESULTS = 200
ORDERS = [("distance", _("Nearest first")), ("charm", _("Most charming first"))]


class CodesField(forms.MultipleChoiceField):
    """Vocabulary codes, repeated (`service=wifi&service=visio_room`) or comma-separated."""

    def to_python(self, value):
        codes = (code.strip() for item in super().to_python(value) for code in item.split(","))
        return [code for code in codes if code]


class _CriteriaForm(AreaForm):
    """What, for how many, with what, where: everything but the time window."""

    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any kind")), *Resource.Kind.choices]
    )
    min_capacity = forms.IntegerField(
        label=_("People"), required=False, min_value=1, max_value=MAX_PEOPLE
    )
    service = CodesField(
        label=_("Services"),
        required=False,
        choices=place_vocabulary.choices(place_vocabulary.SERVICES),
        widget=forms.CheckboxSelectMultiple,
    )
    order = forms.ChoiceField(label=_("Order"), required=False, choices=ORDERS)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        # Each form reads the window its own way: the validated (start, end), or None after
        # adding its errors.
        window = self.window(data)
        located = self.located(data)
        if located is None:
            return data
        point, town_name = located
        if window is None:
            return data
        data["located_town"] = town_name
        data["query"] = AvailabilityQuery(
            start=window[0],
            end=window[1],
            kind=data.get("kind") or "",
            min_capacity=data.get("min_capacity") or 1,
            near=point,
            radius_km=(data.get("radius_km") or DEFAULT_RADIUS_KM) if point else None,
            services=tuple(dict.fromkeys(data.get("service") or ())),
            network=data.get("network") or "",
            order=data.get("order") or "distance",
        )
        return data


class AvailabilityApiForm(_CriteriaForm):
    """The API's criteria: the window as two ISO 8601 instants with their offsets."""

    start = forms.CharField(label=_("Start"), max_length=40)
    end = forms.CharField(label=_("End"), max_length=40)

    def _instant(self, name: str) -> dt.datetime:
        try:
            moment = dt.datetime.fromisoformat(self.cleaned_data[name].strip())
        except ValueError:
            moment = None
        # Near the ends of the calendar an instant cannot be read in every time zone.
        if moment is None or not dt.MINYEAR < moment.year < dt.MAXYEAR:
            raise forms.ValidationError(
                _("Give a date and time in ISO 8601, for example 2027-03-04T14:00:00+01:00."),
                code="invalid_instant",
            )
        if timezone.is_naive(moment):
            raise forms.ValidationError(
                _("Times must carry their offset from UTC (ISO 8601)."), code="naive"
            )
        return moment

    def clean_start(self):
        return self._instant("start")

    def clean_end(self):
        return self._instant("end")

    def window(self, data):
        start, end = data["start"], data["end"]
        if end <= start:
            self.add_error("end", _("The end must come after the start."))
            return None
        if end - start > MAX_WINDOW:
            self.add_error(
                "end",
                _("A search covers at most %(days)d days.") % {"days": MAX_WINDOW.days},
            )
            return None
        return start, end


def _next_day() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=1)


class AvailabilitySearchForm(_CriteriaForm):
    """The page's criteria: a day and two wall-clock times in the network's time zone."""

    date = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    start_time = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end_time = forms.TimeField(label=_("To"), widget=forms.TimeInput(attrs={"type": "time"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = _next_day
        self.fields["start_time"].initial = dt.time(14, 0)
        self.fields["end_time"].initial = dt.time(17, 0)

    def clean_date(self):
        day = self.cleaned_data["date"]
        today = timezone.localdate()
        if day < today:
            raise forms.ValidationError(_("This date is in the past."))
        if day > today + DATE_RANGE:
            raise forms.ValidationError(_("This date is too far ahead."))
        return day

    def window(self, data):
        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        start = local_moment(data["date"], data["start_time"], zone)
        end = local_moment(data["date"], data["end_time"], zone)
        for name, moment in (("start_time", start), ("end_time", end)):
            if moment is None:
                self.add_error(
                    name,
                    _(
                        "%(time)s does not exist on that day in %(zone)s (clocks go forward): "
                        "choose another time."
                    )
                    % {"time": data[name].strftime("%H:%M"), "zone": zone.key},
                )
        if start is None or end is None:
            return None
        if end <= start:
            self.add_error("end_time", _("The end must come after the start."))
            return None
        if start < timezone.now():
            self.add_error("start_time", _("This slot is in the past."))
            return None
        return start, end


def book_url(available: Available, query: AvailabilityQuery) -> str:
    """The booking form of a found resource, prefilled with the searched window."""
    window = urlencode({"start": query.start.isoformat(), "end": query.end.isoformat()})
    return f"{reverse('bookings:book', args=[available.resource.pk])}?{window}"
