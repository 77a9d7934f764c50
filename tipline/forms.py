from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class CheckinForm(forms.Form):
    codename = forms.CharField(
        label=_("Your codename"),
        help_text=_("The words you were given when you sent your tip, separated by spaces."),
        max_length=300,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "off",
                "spellcheck": "false",
                "dir": "ltr",
            }
        ),
        error_messages={"required": _("Please type your codename.")},
    )


class FollowupForm(forms.Form):
    message = forms.CharField(
        label=_("Your message"),
        max_length=settings.MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 8, "dir": "auto"}),
        error_messages={"required": _("Please write a message.")},
    )
