from django import forms
from django.contrib.auth import authenticate
from django_otp import match_token

from reviewers import lockout, passkeys
from reviewers.triage import InboxFilter, desk_readers
from tipline.models import Tip


class LoginForm(forms.Form):
    """Username, password and TOTP code in one step: no page is reachable with less."""

    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autofocus": True}))
    password = forms.CharField(widget=forms.PasswordInput)
    otp_token = forms.CharField(
        label="Authenticator code",
        max_length=8,
        required=False,
        help_text="Leave it empty to use your passkey or security key instead.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    error_text = "Invalid username, password or code."

    def __init__(self, request, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.user = None
        self.device = None
        self.locked = False
        # The password was right, the code left empty, and the reviewer has a passkey: the
        # login goes on with it (reviewers/passkeys.py). Nothing is unlocked until it signs.
        self.passkey_next = False

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        # Each guess spends one of the account's attempts before anything is checked; a
        # right password with a wrong code is a failed attempt like any other.
        username = data["username"]
        if not lockout.claim(lockout.LOGIN, username):
            self.locked = True
            raise forms.ValidationError(lockout.locked_message())
        user = authenticate(self.request, username=username, password=data["password"])
        code = data["otp_token"].strip()
        if user is not None and not code and passkeys.has_passkey(user):
            # This attempt stays spent until the passkey signs.
            self.user, self.passkey_next = user, True
            return data
        device = match_token(user, code) if user is not None and code else None
        if user is None or device is None:
            self.locked = lockout.failed(lockout.LOGIN, username)
            raise forms.ValidationError(
                lockout.locked_message() if self.locked else self.error_text
            )
        if passkeys.passkey_required(user) and passkeys.has_passkey(user):
            # Told only to whoever has the password and the code.
            self.locked = lockout.failed(lockout.LOGIN, username)
            raise forms.ValidationError(
                "This account signs in with its passkey or security key: leave the code empty."
            )
        lockout.succeeded(lockout.LOGIN, username)
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


class TriageForm(forms.Form):
    status = forms.ChoiceField(choices=Tip.Status.choices)
    resolution = forms.ChoiceField(
        choices=[("", "—"), *Tip.Resolution.choices],
        required=False,
        help_text="Needed when closing.",
    )
    priority = forms.TypedChoiceField(choices=Tip.Priority.choices, coerce=int)
    tags = forms.CharField(
        required=False, max_length=500, help_text="Comma-separated, e.g. apt, exchange-hack"
    )
    assignee = forms.ModelChoiceField(queryset=None, required=False, empty_label="nobody")

    def __init__(self, tip, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = desk_readers(tip)
        self.initial.update(
            status=tip.status,
            resolution=tip.resolution,
            priority=tip.priority,
            assignee=tip.assignee_id,
            tags=", ".join(tip.tags.values_list("name", flat=True)),
        )


class InboxFilterForm(forms.Form):
    view = forms.ChoiceField(
        required=False,
        choices=[
            ("all", "All"),
            ("new", "New"),
            ("mine", "Assigned to me"),
            ("unassigned", "Unassigned"),
            ("waiting", "Waiting for tipster"),
            ("spam", "Suspected spam, open"),
            ("watchlist", "On a watch list"),
            ("escalated", "Escalated, still new"),
        ],
    )
    desk = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=[("", "any"), *Tip.Status.choices])
    tag = forms.CharField(required=False, max_length=40)
    assignee = forms.CharField(required=False, max_length=150)
    has_files = forms.BooleanField(required=False)
    unread_followup = forms.BooleanField(required=False, label="Unread follow-up")
    received_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    received_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("-received", "Newest first"),
            ("received", "Oldest first"),
            ("-priority", "Highest priority"),
        ],
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["desk"].choices = [("", "any"), *user.desks.values_list("slug", "name")]

    def to_filter(self) -> InboxFilter:
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        return InboxFilter(**data)


class NoteForm(forms.Form):
    note = forms.CharField(
        label="Internal note",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
        help_text="Seen only by this desk's reviewers, encrypted like the tip. Plain text.",
    )
