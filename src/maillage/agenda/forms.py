"""Public forms of the agenda: the criteria of the network agenda (shared by its page, its feeds
and its widget), the registration form and the widget's parameters.

`AgendaFilterForm(request.GET)` reads the agenda's query string; once valid, its
`cleaned_data["filters"]` is the `selectors.AgendaFilters` to give to `selectors.agenda_events`.
"""

import datetime as dt
import re
import zoneinfo

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from maillage.bookings.search_forms import CodesField
from maillage.places.forms import DEFAULT_RADIUS_KM, AreaForm
from maillage.places.models import Place
from maillage.places.vocabulary import choices

from . import vocabulary
from .selectors import AgendaFilters

# What the agenda shows when no dates are given: from today, the next two months.
DEFAULT_DAYS = 60
# A range longer than this is a typing mistake (and would make a page of thousands of events).
MAX_RANGE_DAYS = 366
FREE_CHOICES = [("", _("Free or paid")), ("free", _("Free only")), ("paid", _("Paid only"))]
VIEW_CHOICES = [("list", _("List")), ("month", _("Month"))]
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def network_zone() -> zoneinfo.ZoneInfo:
    """The network's time zone: agenda dates typed without a place are read in it."""
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of `day` in the network's time zone."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=network_zone())


def _storable_day(day: dt.date | None) -> bool:
    # At the ends of the calendar a day cannot be turned into an instant in every time zone.
    return day is None or dt.MINYEAR < day.year < dt.MAXYEAR


def _date_field(label) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class AgendaFilterForm(AreaForm):
    """Which events: of a network or a place, around a town or a position, of some categories
    and audiences, between two dates (today and two months later by default), free or paid,
    with some words. Also the page's display: a list, or the grid of one month."""

    place = forms.SlugField(label=_("Place"), required=False, max_length=120)
    category = CodesField(
        label=_("Categories"),
        required=False,
        choices=choices(vocabulary.CATEGORIES),
        widget=forms.CheckboxSelectMultiple,
    )
    audience = CodesField(
        label=_("Audiences"),
        required=False,
        choices=choices(vocabulary.AUDIENCES),
        widget=forms.CheckboxSelectMultiple,
    )
    free = forms.ChoiceField(
        label=_("Price"), required=False, choices=FREE_CHOICES, widget=forms.RadioSelect
    )
    q = forms.CharField(label=_("Words"), required=False, max_length=100)
    view = forms.ChoiceField(label=_("Display"), required=False, choices=VIEW_CHOICES)
    month = forms.CharField(label=_("Month"), required=False, max_length=7)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from" and "to" are the names of the API and the feeds; Python keeps them for itself,
        # so these two fields are added here rather than declared above.
        self.fields["from"] = _date_field(_("From"))
        self.fields["to"] = _date_field(_("To"))
        self.order_fields(["q", "from", "to"])

    def clean_place(self):
        slug = self.cleaned_data["place"]
        if slug and not Place.objects.filter(slug=slug, is_published=True).exists():
            raise forms.ValidationError(_("There is no place “%(slug)s”."), params={"slug": slug})
        return slug

    def clean_month(self):
        raw = self.cleaned_data["month"].strip()
        if not raw:
            return None
        match = _MONTH.fullmatch(raw)
        year, month = (int(part) for part in match.groups()) if match else (0, 0)
        if not (dt.MINYEAR < year < dt.MAXYEAR and 1 <= month <= 12):
            raise forms.ValidationError(
                _("Give a month as year-month, for example 2027-03."), code="invalid_month"
            )
        return dt.date(year, month, 1)

    def clean(self):
        data = super().clean()
        # The dates are checked even when another criterion is wrong: every error at once.
        days = None if self.has_error("from") or self.has_error("to") else self._days(data)
        if self.errors or days is None:
            return data
        located = self.located(data)
        if located is None:
            return data
        point, town_name = located
        first, last = days
        free = data.get("free")
        data["view"] = data.get("view") or "list"
        data["from_date"], data["to_date"] = first, last
        data["located_town"] = town_name
        data["filters"] = AgendaFilters(
            network=data.get("network") or "",
            place=data.get("place") or "",
            near=point,
            radius_km=(data.get("radius_km") or DEFAULT_RADIUS_KM) if point else None,
            categories=list(dict.fromkeys(data.get("category") or ())),
            audiences=list(dict.fromkeys(data.get("audience") or ())),
            start=day_start(first),
            end=day_start(last + dt.timedelta(days=1)),
            free={"free": True, "paid": False}.get(free),
            q=data.get("q", "").strip(),
        )
        return data

    def _days(self, data) -> tuple[dt.date, dt.date] | None:
        """The first and last days shown (both included), or None after adding an error."""
        first, last = data.get("from"), data.get("to")
        for name, day in (("from", first), ("to", last)):
            if not _storable_day(day):
                self.add_error(name, self.fields[name].error_messages["invalid"])
                return None
        today = timezone.localdate(timezone=network_zone())
        if first is None:
            first = today if last is None or last >= today else last
        if last is None:
            last = first + dt.timedelta(days=DEFAULT_DAYS)
            if not _storable_day(last):
                last = dt.date(dt.MAXYEAR - 1, 12, 31)
        if last < first:
            self.add_error("to", _("The end date must not come before the start date."))
            return None
        if (last - first).days >= MAX_RANGE_DAYS:
            self.add_error("to", _("Choose at most one year between the two dates."))
            return None
        return first, last


class RegistrationForm(forms.Form):
    """Who registers, when they have no account (the signed-in register with one button)."""

    name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(
        label=_("Your email"),
        max_length=254,
        help_text=_(
            "We send you a link to confirm this address and to cancel if you cannot come. "
            "Only the organisers see it."
        ),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "registration-%s")
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autocomplete"] = "name"
        self.fields["email"].widget.attrs["autocomplete"] = "email"


DEFAULT_WIDGET_COLOR = "#0b5a7a"
DEFAULT_WIDGET_LIMIT = 5
MAX_WIDGET_LIMIT = 20
_COLOR = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def widget_color(raw: str | None) -> str:
    """`#rgb` or `#rrggbb` (the `#` may be left out) in lower case, else the default colour."""
    match = _COLOR.fullmatch((raw or "").strip())
    if match is None:
        return DEFAULT_WIDGET_COLOR
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    return f"#{digits}"


def widget_limit(raw: str | None) -> int:
    """How many events the widget lists: 1 to MAX_WIDGET_LIMIT, DEFAULT_WIDGET_LIMIT otherwise."""
    try:
        limit = int((raw or "").strip())
    except ValueError:
        return DEFAULT_WIDGET_LIMIT
    return min(max(limit, 1), MAX_WIDGET_LIMIT)


def text_color_on(color: str) -> str:
    """Black or white, whichever reads better on `color` (#rrggbb), by WCAG relative luminance."""

    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(color[index : index + 2]) for index in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    # Contrast with white is 1.05 / (L + 0.05), with black (L + 0.05) / 0.05: pick the larger.
    return "#ffffff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 else "#000000"
