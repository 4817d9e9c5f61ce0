"""Forms of the team's pages of members: a plan, giving a plan, ending a membership, adjusting
the credits of a month, and the periods and months of attendance, exports and the ledger.

The forms check what a person can type wrong (numbers, dates, choices); the services check the
rules again and write.
"""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from maillage.bookings.models import Resource
from maillage.places.models import Place

from . import periods, selectors, services
from .models import Membership, Plan

MAX_PERIOD_DAYS = 400
MAX_CREDIT_HOURS = 31 * 24
MAX_TICKETS = 1000
MAX_VALID_DAYS = 10 * 366
NOT_NEGATIVE = _("This number cannot be negative.")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

# Keys of the services' ValidationError dicts that are not the name of a form field.
_SERVICE_KEYS = {"member": "email", "user": "email", "__all__": None}


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a ValidationError raised by a service on the form: each message on its field when
    the form has one, the others at the top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, messages in error.message_dict.items():
        name = _SERVICE_KEYS.get(key, key)
        form.add_error(name if name in form.fields else None, messages)


def _count(label, *, minimum=0, maximum, **kwargs) -> forms.IntegerField:
    messages = {"min_value": NOT_NEGATIVE} if minimum == 0 else {}
    return forms.IntegerField(
        label=label,
        min_value=minimum,
        max_value=maximum,
        error_messages=messages,
        **kwargs,
    )


class PlanForm(forms.Form):
    """A plan of a place. Places of the network are offered only when the place belongs to one."""

    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Plan.Kind.choices)
    price = forms.DecimalField(
        label=_("Price"),
        min_value=0,
        max_digits=9,
        decimal_places=2,
        error_messages={"min_value": _("A price cannot be negative.")},
        help_text=_("Recorded with each membership for your accounting; no payment is taken."),
    )
    currency = forms.CharField(
        label=_("Currency"),
        min_length=3,
        max_length=3,
        validators=[
            RegexValidator(r"^[A-Za-z]{3}$", _("Three letters, for example EUR."), "currency")
        ],
    )
    credit_hours = _count(
        _("Booking credits included each month (hours)"),
        maximum=MAX_CREDIT_HOURS,
        required=False,
        help_text=_("Monthly subscriptions only. Unused credits expire with their month."),
    )
    resource_kinds = forms.MultipleChoiceField(
        label=_("Kinds of resources the credits pay for"),
        required=False,
        choices=Resource.Kind.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    days_per_month = _count(
        _("Days of presence included each month"),
        maximum=31,
        required=False,
        help_text=_("Monthly subscriptions only. Leave empty for unlimited days."),
    )
    tickets = _count(
        _("Day tickets in the book"),
        minimum=1,
        maximum=MAX_TICKETS,
        required=False,
        help_text=_("Ticket books only."),
    )
    valid_days = _count(
        _("Valid for (days)"),
        minimum=1,
        maximum=MAX_VALID_DAYS,
        required=False,
        help_text=_("Empty: until ended (subscriptions, free membership). A day pass: 1."),
    )
    network_wide = forms.BooleanField(
        label=_("Valid in other places of the network"),
        required=False,
        help_text=_("A day spent there uses the plan and is written in the network's ledger."),
    )
    valid_places = forms.ModelMultipleChoiceField(
        label=_("Only in these places of the network"),
        queryset=Place.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None chosen: every place sharing a network with this one."),
    )
    is_active = forms.BooleanField(
        label=_("Offered"),
        required=False,
        help_text=_("Untick to withdraw the plan; those who hold it keep it."),
    )

    def __init__(self, *args, place: Place, plan: Plan | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        network_places = (
            Place.objects.filter(networks__places=place)
            .exclude(pk=place.pk)
            .distinct()
            .order_by("name")
        )
        if network_places.exists():
            self.fields["valid_places"].queryset = network_places
        else:
            del self.fields["network_wide"], self.fields["valid_places"]
        if plan is not None:
            for name in services.PLAN_FIELDS:
                self.initial.setdefault(name, getattr(plan, name))
            self.initial.setdefault("valid_places", list(plan.valid_places.all()))
        else:
            self.initial.setdefault("currency", "EUR")
            self.initial.setdefault("price", 0)
            self.initial.setdefault("is_active", True)

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()

    def values(self) -> dict:
        """The validated values in the shape services.plan_save takes."""
        data = {
            name: self.cleaned_data[name] for name in services.PLAN_FIELDS if name in self.fields
        }
        data["credit_hours"] = data["credit_hours"] or 0
        return data

    def chosen_places(self) -> list[Place]:
        return list(self.cleaned_data.get("valid_places") or [])


class MembershipForm(forms.Form):
    """Giving one of the place's offered plans to someone, by email."""

    plan = forms.ModelChoiceField(
        label=_("Plan"), queryset=Plan.objects.none(), empty_label=_("Choose a plan")
    )
    email = forms.EmailField(
        label=_("Email of the member"),
        help_text=_("Someone without an account gets one and an email to choose a password."),
    )
    starts_on = forms.DateField(label=_("From"), widget=DATE_WIDGET)
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=300,
        help_text=_("For the team, for example how it was paid."),
    )

    def __init__(self, *args, place: Place, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = selectors.plans_of(place).order_by("kind", "name")

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class EndForm(forms.Form):
    on = forms.DateField(label=_("Last day"), widget=DATE_WIDGET)


class AdjustForm(forms.Form):
    """Credits given (or taken back) for one month of a subscription."""

    month = forms.ChoiceField(label=_("Month"))
    hours = forms.DecimalField(
        label=_("Hours to add (a minus sign takes them back)"),
        max_digits=5,
        decimal_places=2,
        min_value=-MAX_CREDIT_HOURS,
        max_value=MAX_CREDIT_HOURS,
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, membership: Membership, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        coming = periods.next_month(periods.month_of(today))
        last = min(membership.ends_on or coming, coming)
        months = periods.months_between(membership.starts_on, max(last, membership.starts_on))
        self.fields["month"].choices = [
            (month.isoformat(), formats.date_format(month, "YEAR_MONTH_FORMAT"))
            for month in reversed(months)
        ]
        self.initial.setdefault("month", periods.month_of(today).isoformat())

    def clean_month(self):
        return dt.date.fromisoformat(self.cleaned_data["month"])


class PeriodForm(forms.Form):
    """From one day to another (both included), at most MAX_PERIOD_DAYS days. The parameters are
    `from` and `to`, which are not Python names: the fields are added by __init__."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from"] = forms.DateField(label=_("From"), widget=DATE_WIDGET)
        self.fields["to"] = forms.DateField(label=_("To"), widget=DATE_WIDGET)

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start is not None and end is not None:
            if end < start:
                self.add_error("to", _("The end of the period comes before its start."))
            elif (end - start).days + 1 > MAX_PERIOD_DAYS:
                self.add_error(
                    "to", _("At most %(days)d days at a time.") % {"days": MAX_PERIOD_DAYS}
                )
        return data

    @property
    def period(self) -> tuple[dt.date, dt.date]:
        return self.cleaned_data["from"], self.cleaned_data["to"]


class MonthForm(forms.Form):
    month = forms.CharField(
        label=_("Month"),
        max_length=7,
        validators=[
            RegexValidator(r"^\d{4}-\d{2}$", _("A month as YYYY-MM, for example 2025-03."))
        ],
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )

    def clean_month(self):
        year, month = (int(part) for part in self.cleaned_data["month"].split("-"))
        if not (2000 <= year <= 2100 and 1 <= month <= 12):
            raise ValidationError(_("A month as YYYY-MM, for example 2025-03."))
        return dt.date(year, month, 1)
