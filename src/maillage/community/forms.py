"""Forms of the pages every part shares: reporting a post, and how often a person gets emails."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import NotificationSettings, Report


class ReportForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("What is wrong with this post?"),
        choices=Report.Reason.choices,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Details for the team (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class NotificationSettingsForm(forms.Form):
    frequency = forms.ChoiceField(
        label=_("Emails about the community exchange"),
        choices=NotificationSettings.Frequency.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "A post of yours hidden by a team, a mentor's answer and a return date always come "
            "at once."
        ),
    )
    notify_matches = forms.BooleanField(
        label=_("Tell me about new offers and requests that match my skills"), required=False
    )
