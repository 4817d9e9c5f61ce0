"""Forms of presence at the door: the kiosk's search and buttons, the team's desk, the kiosk's
set-up. They only validate input; the views decide who may do what."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .kiosk_queries import MIN_QUERY

CHECKIN, CHECKOUT, UNDO = "checkin", "checkout", "undo"
RENEW, REVOKE = "renew", "revoke"


class KioskSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Type the beginning of your name"),
        min_length=MIN_QUERY,
        max_length=100,
        error_messages={"min_length": _("Type at least two letters of your name.")},
    )


class KioskActionForm(forms.Form):
    member = forms.IntegerField(min_value=1)
    action = forms.ChoiceField(choices=[(CHECKIN, _("I'm here")), (CHECKOUT, _("I'm leaving"))])


class DeskSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name or email"),
        min_length=MIN_QUERY,
        max_length=254,
        error_messages={"min_length": _("Type at least two letters.")},
    )


class DeskActionForm(forms.Form):
    """Check someone in (by account, or by the exact email the team typed), or check out or
    undo one of today's check-ins."""

    action = forms.ChoiceField(
        choices=[(CHECKIN, _("Check in")), (CHECKOUT, _("Check out")), (UNDO, _("Undo"))]
    )
    member = forms.IntegerField(min_value=1, required=False)
    email = forms.EmailField(required=False)
    checkin = forms.IntegerField(min_value=1, required=False)
    q = forms.CharField(max_length=254, required=False)

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == CHECKIN and not (data.get("member") or data.get("email")):
            raise forms.ValidationError(_("Choose whom to check in."))
        if action in (CHECKOUT, UNDO) and not data.get("checkin"):
            raise forms.ValidationError(_("Choose a check-in."))
        return data


class KioskSetupForm(forms.Form):
    action = forms.ChoiceField(
        choices=[(RENEW, _("Make a new kiosk address")), (REVOKE, _("Switch the kiosk off"))]
    )
