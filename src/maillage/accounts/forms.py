from django import forms
from django.utils.translation import gettext_lazy as _


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("Action"), required=False, max_length=60)
    place = forms.CharField(label=_("Place"), required=False, max_length=120)
    since = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", _("The end date must not come before the start date."))
        return data
