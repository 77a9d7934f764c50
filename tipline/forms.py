from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class TipForm(forms.Form):
    message = forms.CharField(
        label=_("Your message"),
        help_text=_("Describe what you know. Do not include your name unless you want to."),
        widget=forms.Textarea(attrs={"rows": 12, "dir": "auto"}),
        max_length=settings.MAX_MESSAGE_CHARS,
        error_messages={
            "required": _("Please write a message: it is the heart of your tip."),
            "max_length": _("Your message is too long. Please shorten it or attach it as a file."),
        },
    )
