"""Forms of the invitation pages: the admin's invitation, and the invitee's two steps."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator

from reviewers.provisioning import MIN_PASSPHRASE_CHARS
from tipline import crypto
from tipline.models import Desk


class InvitationForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="The name they will log in with. Letters, digits and @ . + - _ only.",
    )
    email = forms.EmailField(
        required=False,
        help_text="If given, the link is e-mailed there (with nothing else: no desk, no name). "
        "It also becomes the address of their account.",
    )
    desks = forms.ModelMultipleChoiceField(
        queryset=Desk.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="They will read the tips these desks receive from the day they join. You can "
        "only invite onto desks you are a member of.",
    )

    def __init__(self, *args, inviter=None, **kwargs):
        super().__init__(*args, **kwargs)
        if inviter is not None:
            self.fields["desks"].queryset = Desk.objects.filter(memberships__user=inviter).order_by(
                "name"
            )


class CodeField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            label="Code from your authenticator app",
            max_length=8,
            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
            error_messages={"required": "Enter the six-digit code your authenticator app shows."},
            **kwargs,
        )


class EnrolmentCodeForm(forms.Form):
    code = CodeField()


class ReenrolmentForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = CodeField()


class NewAccountForm(forms.Form):
    """The invitee's password and key: a key kept here under a passphrase, or their own."""

    SERVER, OFFLINE = "server", "offline"

    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password_again = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    key = forms.ChoiceField(
        label="Your key",
        widget=forms.RadioSelect,
        initial=SERVER,
        choices=[
            (SERVER, "A key kept on this server, protected by a passphrase only you know"),
            (OFFLINE, "My own OpenPGP key: I decrypt tips on my own computer"),
        ],
    )
    passphrase = forms.CharField(
        label="Key passphrase",
        required=False,
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput,
        help_text=f"At least {MIN_PASSPHRASE_CHARS} characters, different from your password. "
        "It cannot be recovered: without it nobody can read the tips encrypted to your key.",
    )
    passphrase_again = forms.CharField(
        label="Key passphrase again", required=False, strip=False, widget=forms.PasswordInput
    )
    public_key = forms.CharField(
        label="Your OpenPGP public key",
        required=False,
        max_length=crypto.MAX_ARMORED_KEY_CHARS,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="ASCII-armoured (-----BEGIN PGP PUBLIC KEY BLOCK-----), with an encryption "
        "subkey. Never paste your secret key.",
    )

    def __init__(self, username: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.username = username
        self.validated_key: crypto.PublicKey | None = None

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        validate_password(password, get_user_model()(username=self.username))
        return password

    def clean(self):
        data = super().clean()
        if "password" in data and data["password"] != data.get("password_again"):
            self.add_error("password_again", "The two passwords do not match.")
        if data.get("key") == self.SERVER:
            self._check_passphrase(data)
        elif data.get("key") == self.OFFLINE:
            self._check_public_key(data)
        return data

    def _check_passphrase(self, data) -> None:
        passphrase = data.get("passphrase", "")
        if len(passphrase) < MIN_PASSPHRASE_CHARS:
            self.add_error(
                "passphrase",
                f"The key passphrase needs at least {MIN_PASSPHRASE_CHARS} characters.",
            )
        elif passphrase == data.get("password"):
            self.add_error("passphrase", "The key passphrase must differ from your password.")
        elif passphrase != data.get("passphrase_again"):
            self.add_error("passphrase_again", "The two passphrases do not match.")

    def _check_public_key(self, data) -> None:
        if not data.get("public_key", "").strip():
            self.add_error("public_key", "Paste your public key, or choose a key on this server.")
            return
        try:
            self.validated_key = crypto.validate_public_key(data["public_key"])
        except crypto.CryptoError as exc:
            self.add_error("public_key", f"{str(exc)[:1].upper()}{str(exc)[1:]}.")

    def key_choice(self) -> dict:
        """``passphrase`` or ``public_key``, as invitations.accept takes them."""
        if self.cleaned_data["key"] == self.SERVER:
            return {"passphrase": self.cleaned_data["passphrase"]}
        return {"public_key": self.validated_key}
