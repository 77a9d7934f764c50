from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

# Django decodes form fields with errors="replace" (QueryDict and the multipart parser alike):
# bytes that are not valid UTF-8 arrive as U+FFFD REPLACEMENT CHARACTER instead of an error, and
# would be encrypted and stored mangled, with nobody the wiser until a reviewer finds question
# marks in diamonds where an address or a name was. So a U+FFFD in a submitted value is taken
# as the sign that the browser sent something unreadable, and the field is refused, so the
# tipster can type it again. The rare false positive is a tipster who pasted a U+FFFD on
# purpose (usually itself the debris of an earlier bad conversion): they are asked to retype
# too. Refusing is right: the tipster is there to fix it now, a reviewer cannot ask them later
# (and a garbled address would match nothing), and nothing is stored half-readable.
REPLACEMENT_CHARACTER = "\ufffd"
UNREADABLE_TEXT = _(
    "Part of your answer could not be read (it is not valid text). Please type it again."
)


def _unreadable(value) -> bool:
    if isinstance(value, str):
        return REPLACEMENT_CHARACTER in value
    if isinstance(value, list | tuple):  # multiple choices, an indicator's parts
        return any(_unreadable(part) for part in value)
    return False


class RefusesUnreadableText(forms.Form):
    """A form that refuses, field by field, values that were not valid UTF-8 when sent."""

    def clean(self):
        cleaned_data = super().clean()
        for name in self.fields:
            if _unreadable(self[name].data):
                self.add_error(name, UNREADABLE_TEXT)
        return cleaned_data


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


class FollowupForm(RefusesUnreadableText):
    message = forms.CharField(
        label=_("Your message"),
        max_length=settings.MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 8, "dir": "auto"}),
        error_messages={"required": _("Please write a message.")},
    )
