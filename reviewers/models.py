from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Case(models.Model):
    """A group of tips of one desk worked on together.

    The title is written by reviewers and may name people, so it is encrypted to the desk's
    readers like a note; the case is listed by number.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        HANDED_OVER = "handed_over", "Handed over"
        CLOSED = "closed", "Closed"

    desk = models.ForeignKey("tipline.Desk", on_delete=models.PROTECT, related_name="cases")
    title = models.BinaryField()
    recipients = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_cases",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]

    def __str__(self) -> str:
        return f"Case {self.pk}"


class CaseTip(models.Model):
    """A tip's place in a case: a tip joins at most one case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="members")
    tip = models.OneToOneField("tipline.Tip", on_delete=models.CASCADE, related_name="case_link")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "pk"]

    def __str__(self) -> str:
        return f"tip {self.tip_id} in case {self.case_id}"


class Note(models.Model):
    """A reviewer's internal note on a tip or a case, encrypted to the desk's readers.

    Plain text only: no markup is accepted, so there is nothing to sanitise.
    """

    tip = models.ForeignKey(
        "tipline.Tip", null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    written_at = models.DateTimeField(default=timezone.now)
    body = models.BinaryField()
    recipients = models.JSONField(default=list)
    # A tip note's own passphrase, sealed to the tip's part key (tipline/part_keys.py).
    sealed_passphrase = models.BinaryField(null=True, blank=True)

    class Meta:
        ordering = ["written_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(tip__isnull=False, case__isnull=True)
                | Q(tip__isnull=True, case__isnull=False),
                name="note_on_a_tip_or_a_case",
            )
        ]

    def __str__(self) -> str:
        target = f"tip {self.tip_id}" if self.tip_id else f"case {self.case_id}"
        return f"note {self.pk} on {target}"


class Invitation(models.Model):
    """A one-time link into the back office (reviewers/invitations.py).

    A new reviewer sets up their account with it, or a reviewer whose two-factor an admin reset
    enrols a new authenticator. Only the SHA-256 of the link's token is stored.
    """

    class Purpose(models.TextChoices):
        NEW_REVIEWER = "new_reviewer", "New reviewer"
        TOTP_RESET = "totp_reset", "New authenticator"

    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    username = models.CharField(max_length=150)
    email = models.EmailField(blank=True)
    desks = models.ManyToManyField("tipline.Desk", blank=True, related_name="+")
    # The reviewer whose authenticator is reset; for a new reviewer, the account made with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"invitation {self.pk} for {self.username}"

    @classmethod
    def usable(cls) -> models.QuerySet:
        """Invitations that still work: not used, not revoked, not expired."""
        return cls.objects.filter(used_at=None, revoked_at=None, expires_at__gt=timezone.now())

    @property
    def state(self) -> str:
        if self.used_at:
            return "used"
        if self.revoked_at:
            return "revoked"
        return "expired" if self.expires_at <= timezone.now() else "pending"

    def claim(self, user=None) -> bool:
        """Use the invitation up, once: False if it was used, revoked or expired meanwhile.

        One conditional UPDATE, run in the transaction that creates what the invitation is for,
        so of two requests racing with the same link only one gets True.
        """
        fields = {"used_at": timezone.now()}
        if user is not None:
            fields["user"] = user
        return bool(Invitation.usable().filter(pk=self.pk).update(**fields))


class ReviewerAccount(User):
    """Reviewers' accounts as the admin lists them: read-only, with disable and reset actions."""

    class Meta:
        proxy = True
        verbose_name = "reviewer account"
        permissions = [
            ("disable_revieweraccount", "Can disable and enable reviewers"),
            ("reset_totp_revieweraccount", "Can reset a reviewer's two-factor authentication"),
        ]


class AttemptCounter(models.Model):
    """Recent attempts at one account's password and code, or at its key passphrase.

    Nothing here names a client, or even the username typed in: ``account`` is a keyed hash of
    it (reviewers/lockout.py), so a username that belongs to no one, or a password typed into
    the username field, is not readable from the database.
    """

    class Scope(models.TextChoices):
        LOGIN = "login", "Password and code"
        UNLOCK = "unlock", "Key passphrase"

    scope = models.CharField(max_length=16, choices=Scope.choices)
    account = models.CharField(max_length=64)
    attempts = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "account"], name="one_counter_per_account")
        ]

    def __str__(self) -> str:
        return f"{self.scope} attempts: {self.attempts}"


class ReadingCopy(models.Model):
    """Everything of a tip its readers have decrypted, as one OpenPGP message (reviewers/
    reading_copy.py), so that opening a tip costs one decryption rather than one per part.

    ``parts`` names the parts inside (``"tip"``, ``"message:<pk>"``, ``"note:<pk>"``) and
    ``recipients`` the keys it is encrypted to: only keys that every one of those parts is
    encrypted to, so the copy lets no one read what they could not read part by part.
    """

    tip = models.OneToOneField("tipline.Tip", on_delete=models.CASCADE, related_name="reading_copy")
    body = models.BinaryField()
    recipients = models.JSONField(default=list)
    parts = models.JSONField(default=list)
    made_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"reading copy of tip {self.tip_id}"


class IndicatorHash(models.Model):
    """An indicator a tip mentions, kept only as a keyed hash (reviewers/correlation.py).

    HMAC-SHA256 under a key only the back office holds (``INDICATOR_KEY``): a copy of this table,
    or the public site, cannot tell which addresses, accounts or domains were reported, while two
    tips that mention the same one share a digest. ``kind`` says what sort of indicator it is;
    ``source`` whether the tipster typed it into an indicator question or it was found in text.
    """

    class Source(models.TextChoices):
        ANSWER = "answer", "typed into an indicator question"
        TEXT = "text", "found in the text"

    tip = models.ForeignKey("tipline.Tip", on_delete=models.CASCADE, related_name="indicators")
    kind = models.CharField(max_length=20)
    digest = models.BinaryField(max_length=32)
    source = models.CharField(max_length=10, choices=Source.choices)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tip", "digest"], name="one_hash_per_tip_indicator")
        ]
        indexes = [models.Index(fields=["digest"], name="indicator_digest")]

    def __str__(self) -> str:
        return f"{self.kind} indicator of tip {self.tip_id}"


class RewardAccessRequest(models.Model):
    """A reviewer of a tip's desk asks to read the tipster's reward contact; a reward officer
    decides (reviewers/rewards.py). ``approved`` is None until then."""

    tip = models.ForeignKey(
        "tipline.Tip", on_delete=models.CASCADE, related_name="reward_access_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    approved = models.BooleanField(null=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"reward access to tip {self.tip_id} for {self.requested_by_id}"


class WatchList(models.Model):
    """A list of indicators to watch for, such as the crypto addresses of a sanctions list,
    imported by an admin (reviewers/watchlists.py). Its entries are kept as keyed hashes only."""

    name = models.CharField(max_length=200, unique=True)
    source = models.CharField(max_length=500, blank=True, help_text="Where the list came from.")
    imported_at = models.DateTimeField(default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A public list (a sanctions list) is also matched as tips arrive, through plain digests of
    # its entries that the public site can compare (tipline.models.ArrivalWatchDigest).
    match_on_arrival = models.BooleanField(default=False, db_default=False)

    def __str__(self) -> str:
        return self.name


class WatchListEntry(models.Model):
    """One indicator of a watch list: its kind, its HMAC digest (as IndicatorHash.digest) and
    the list's own label for it (public information, e.g. the name of a sanctioned entity)."""

    watch_list = models.ForeignKey(WatchList, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=20)
    digest = models.BinaryField(max_length=32)
    label = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["watch_list", "digest"], name="one_entry_per_digest")
        ]
        indexes = [models.Index(fields=["digest"], name="watch_entry_digest")]

    def __str__(self) -> str:
        return f"{self.kind} entry of {self.watch_list_id}"


class SimilarityBand(models.Model):
    """One band of a tip's similarity sketch, kept only as a keyed hash (reviewers/similarity.py).

    A tip's text (its answers and the tipster's follow-ups) is summarised as a MinHash signature
    cut into bands; each band is stored as HMAC-SHA256 under ``INDICATOR_KEY``. Two tips whose
    texts are near-duplicates very likely share a band digest, so a flood of the same junk can be
    grouped; the digests say nothing of the text to whoever lacks the key, and the public site
    cannot compute one.
    """

    tip = models.ForeignKey("tipline.Tip", on_delete=models.CASCADE, related_name="similarity")
    index = models.PositiveSmallIntegerField()
    digest = models.BinaryField(max_length=32)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tip", "index"], name="one_band_per_tip_index")
        ]
        indexes = [models.Index(fields=["digest"], name="similarity_band_digest")]

    def __str__(self) -> str:
        return f"similarity band {self.index} of tip {self.tip_id}"
