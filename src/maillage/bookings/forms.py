"""Forms of the member pages: booking a resource (with an optional repetition), the date of a
place's calendar, the personal feed. Times are typed in the place's time zone."""

import datetime as dt
import zoneinfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from maillage.accounts.models import User

from .models import Resource
from .services import MAX_OCCURRENCES

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# How far from today a page accepts dates, which also keeps date arithmetic far from year 1/9999.
DATE_RANGE = dt.timedelta(days=3660)


def local_moment(day: dt.date, time: dt.time, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """The aware instant of a wall-clock time in `zone`, or None when that time does not exist
    that day (skipped when the clocks go forward). A repeated time (clocks going back) is its
    first occurrence."""
    local = dt.datetime.combine(day, time)
    moment = local.replace(tzinfo=zone)
    if moment.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != local:
        return None
    return moment


def parse_moment(raw: str, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """An ISO 8601 date and time from a link (offset optional: the place's time zone then)."""
    try:
        moment = dt.datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        return None
    if timezone.is_naive(moment):
        return moment.replace(tzinfo=zone)
    try:
        return moment.astimezone(zone)
    except OverflowError:
        return None


class BookingForm(forms.Form):
    REPEAT_CHOICES = [
        ("", _("Does not repeat")),
        ("weekly", _("Every week")),
        ("fortnightly", _("Every 2 weeks")),
        ("monthly", _("Every month, on the same date")),
        ("monthly_weekday", _("Every month, on the same weekday (e.g. the 2nd Tuesday)")),
    ]

    date = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    start_time = forms.TimeField(
        label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end_time = forms.TimeField(
        label=_("To"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    title = forms.CharField(
        label=_("Title"),
        required=False,
        max_length=150,
        help_text=_("Shown on the calendar of the place, unless the booking is private."),
    )
    private = forms.BooleanField(
        label=_("Private booking"),
        required=False,
        help_text=_(
            "Others only see that the resource is busy; the team of the place sees it all."
        ),
    )
    repeat = forms.ChoiceField(label=_("How often"), choices=REPEAT_CHOICES, required=False)
    until = forms.DateField(
        label=_("Until (included)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    count = forms.IntegerField(
        label=_("Or number of times"), required=False, min_value=2, max_value=MAX_OCCURRENCES
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
    on_behalf = forms.EmailField(
        label=_("Book on behalf of (email of the member)"),
        required=False,
        help_text=_("Leave empty to book for yourself. The member must have an account."),
    )

    def __init__(self, *args, resource: Resource, on_behalf: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zoneinfo.ZoneInfo(resource.place.time_zone)
        if not on_behalf:
            del self.fields["on_behalf"]

    @classmethod
    def initial_from(cls, query, zone: zoneinfo.ZoneInfo) -> dict:
        """Prefill from the `start` and `end` of a link (search results, free times)."""
        start = parse_moment(query.get("start", ""), zone)
        if start is None:
            return {}
        initial = {"date": start.date(), "start_time": start.time().replace(tzinfo=None)}
        end = parse_moment(query.get("end", ""), zone)
        if end is not None and end.date() == start.date() and end > start:
            initial["end_time"] = end.time().replace(tzinfo=None)
        return initial

    def clean_date(self):
        day = self.cleaned_data["date"]
        today = timezone.now().astimezone(self.zone).date()
        if day < today:
            raise forms.ValidationError(_("This date is in the past."))
        if day > today + DATE_RANGE:
            raise forms.ValidationError(_("This date is too far ahead."))
        return day

    def clean_on_behalf(self):
        email = self.cleaned_data["on_behalf"].strip()
        if not email:
            return None
        member = User.objects.filter(email__iexact=email, is_active=True).first()
        if member is None:
            raise forms.ValidationError(
                _("Nobody has an account with this address: the member must create one first.")
            )
        return member

    def clean(self):
        data = super().clean()
        day, start_time, end_time = data.get("date"), data.get("start_time"), data.get("end_time")
        if day and start_time and end_time:
            if end_time <= start_time:
                self.add_error("end_time", _("The end must come after the start."))
            else:
                data["start"] = self._moment(day, start_time, "start_time")
                data["end"] = self._moment(day, end_time, "end_time")
        data["rrule"] = self._rrule(data)
        return data

    def _moment(self, day: dt.date, time: dt.time, field: str) -> dt.datetime | None:
        moment = local_moment(day, time, self.zone)
        if moment is None:
            self.add_error(
                field,
                forms.ValidationError(
                    _(
                        "%(time)s does not exist on %(date)s in %(zone)s: the clocks go forward "
                        "that night. Choose another time."
                    ),
                    params={
                        "time": f"{time:%H:%M}",
                        "date": f"{day:%d/%m/%Y}",
                        "zone": self.zone.key,
                    },
                    code="nonexistent_time",
                ),
            )
        return moment

    def _rrule(self, data) -> str:
        """The RFC 5545 rule of the repetition: the expert's, or one built from the choices."""
        raw = data.get("rrule", "").strip()
        repeat, until, count = data.get("repeat"), data.get("until"), data.get("count")
        if raw:
            if repeat:
                self.add_error("rrule", _("Give either a repeat rule or a choice above, not both."))
            return raw.removeprefix("RRULE:")
        if not repeat:
            if until or count:
                self.add_error("repeat", _("Choose how the booking repeats."))
            return ""
        if until and count:
            self.add_error("count", _("Give either an end date or a number of times, not both."))
            return ""
        if not until and not count:
            self.add_error("until", _("Say until when the booking repeats, or how many times."))
            return ""
        day = data.get("date")
        if day is None:
            return ""
        if until and until <= day:
            self.add_error("until", _("The end of the series must come after its first date."))
            return ""
        parts = {
            "weekly": ["FREQ=WEEKLY"],
            "fortnightly": ["FREQ=WEEKLY", "INTERVAL=2"],
            "monthly": ["FREQ=MONTHLY"],
            "monthly_weekday": ["FREQ=MONTHLY", f"BYDAY={_nth_weekday(day)}"],
        }[repeat]
        # The series is expanded in the place's wall-clock time (services._slots), so UNTIL is
        # a local time as well: the end of the chosen day.
        parts.append(f"UNTIL={until:%Y%m%d}T235959" if until else f"COUNT={count}")
        return ";".join(parts)


def _nth_weekday(day: dt.date) -> str:
    """ "2TU" for the second Tuesday of its month; "-1TU" for a fifth one (the last)."""
    nth = (day.day - 1) // 7 + 1
    return f"{-1 if nth == 5 else nth}{WEEKDAY_CODES[day.weekday()]}"


class CalendarForm(forms.Form):
    VIEWS = [("day", _("Day")), ("week", _("Week"))]

    date = forms.DateField(
        label=_("Date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    view = forms.ChoiceField(label=_("View"), choices=VIEWS, required=False)

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_date(self):
        day = self.cleaned_data["date"] or self.today
        if abs(day - self.today) > DATE_RANGE:
            raise forms.ValidationError(_("Choose a date within ten years of today."))
        return day

    def clean_view(self):
        return self.cleaned_data["view"] or "day"


class FeedForm(forms.Form):
    action = forms.ChoiceField(choices=[("renew", "renew"), ("revoke", "revoke")])
