from django import forms
from django.contrib.auth import authenticate
from django_otp import match_token


class LoginForm(forms.Form):
    """Username, password and TOTP code in one step: no page is reachable with less."""

    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autofocus": True}))
    password = forms.CharField(widget=forms.PasswordInput)
    otp_token = forms.CharField(
        label="Authenticator code",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    error_text = "Invalid username, password or code."

    def __init__(self, request, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.user = None
        self.device = None

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        user = authenticate(self.request, username=data["username"], password=data["password"])
        device = match_token(user, data["otp_token"].strip()) if user is not None else None
        if user is None or device is None:
            raise forms.ValidationError(self.error_text)
        self.user, self.device = user, device
        return data


class UnlockForm(forms.Form):
    passphrase = forms.CharField(
        label="Key passphrase",
        max_length=1024,
        strip=False,
        widget=forms.PasswordInput(attrs={"autofocus": True}),
    )


class ReplyForm(forms.Form):
    message = forms.CharField(
        label="Reply to the tipster",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 6, "dir": "auto"}),
        help_text="Only the tipster (with their codename) and this desk's reviewers can read it.",
    )
