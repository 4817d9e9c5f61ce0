from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# The word a person types to confirm the erasure of their account (in their language).
CONFIRMATION_WORD = gettext_lazy("ERASE")


class EraseForm(forms.Form):
    """Erasing one's account: the password again, and a word typed by hand."""

    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirmation = forms.CharField(
        label=gettext_lazy("Type the word shown above"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("This is not your password."))
        return password

    def clean_confirmation(self):
        typed = " ".join(self.cleaned_data["confirmation"].split())
        if typed.casefold() != str(CONFIRMATION_WORD).casefold():
            raise forms.ValidationError(
                _("Type %(word)s to confirm.") % {"word": CONFIRMATION_WORD}
            )
        return typed
