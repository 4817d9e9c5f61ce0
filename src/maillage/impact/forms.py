import datetime as dt

from django import forms
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .periods import CUSTOM, MONTH, QUARTER, YEAR, Period

# The longest custom period (days): three years and a leap day.
MAX_DAYS = 3 * 365 + 1
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PeriodForm(forms.Form):
    """The period of the statistics: a month, quarter or year holding `date` (today when empty),
    or the days `from` … `to`. GET parameters; `from` and `to` are added by __init__ since they
    are not Python names."""

    period = forms.ChoiceField(
        label=_("Period"),
        choices=[
            (MONTH, _("month")),
            (QUARTER, _("quarter")),
            (YEAR, _("year")),
            (CUSTOM, _("chosen days")),
        ],
        required=False,
    )
    date = forms.DateField(label=_("Including the day"), required=False, widget=DATE_WIDGET)

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["from"] = forms.DateField(label=_("From"), required=False, widget=DATE_WIDGET)
        self.fields["to"] = forms.DateField(label=_("To"), required=False, widget=DATE_WIDGET)

    def clean(self):
        data = super().clean()
        kind = data.get("period") or MONTH
        if kind != CUSTOM:
            day = data.get("date") or self.today
            if not dt.date(1901, 1, 1) <= day <= dt.date(9998, 1, 1):
                self.add_error("date", _("Choose a day between 1901 and 9998."))
            else:
                data["result"] = Period.of(kind, day)
            return data
        first, last = data.get("from"), data.get("to")
        if first is None and "from" not in self.errors:
            self.add_error("from", _("Give the first day of the period."))
        if last is None and "to" not in self.errors:
            self.add_error("to", _("Give the last day of the period."))
        if first is None or last is None:
            return data
        if last < first:
            self.add_error("to", _("The end of the period comes before its start."))
        elif (last - first).days + 1 > MAX_DAYS:
            self.add_error("to", _("At most %(days)d days at a time.") % {"days": MAX_DAYS})
        elif first.year < 1901 or last.year > 9998:
            self.add_error("from", _("Choose a day between 1901 and 9998."))
        else:
            data["result"] = Period.custom(first, last)
        return data

    @property
    def result(self) -> Period:
        return self.cleaned_data["result"]


class ReportForm(PeriodForm):
    """The period of a funders' report and the language it is written in (the reader's own by
    default)."""

    language = forms.ChoiceField(label=_("Language of the report"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("mine"))] + [
            (code, name) for code, name in settings.LANGUAGES
        ]

    def clean_language(self):
        return self.cleaned_data.get("language") or get_language() or settings.LANGUAGE_CODE
