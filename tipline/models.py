"""Core data shared by the public site, the worker and the back office.

Nothing a tipster writes is stored here in the clear: a tip's message, answers and the names of
its files live only inside ``Tip.envelope`` (OpenPGP ciphertext), and its files only as
ciphertext on disk (see tipline/storage.py).
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from tipline.crypto import PublicKey


class Desk(models.Model):
    """A topic a tipster can report on, read by the reviewers who are its members."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Name and description in other languages: {"ar": {"name": "...", "description": "..."}}.
    translations = models.JSONField(default=dict, blank=True)
    # A tip still new after this many hours is escalated to the desk lead and shown as overdue.
    triage_deadline_hours = models.PositiveIntegerField(default=24)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_desks",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="DeskMembership", related_name="desks"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.lead_id and self.pk and not self.memberships.filter(user_id=self.lead_id).exists():
            raise ValidationError({"lead": "The lead must be a reviewer of this desk."})

    def localized_name(self, language: str) -> str:
        return self._translated(language, "name") or self.name

    def localized_description(self, language: str) -> str:
        return self._translated(language, "description") or self.description

    def _translated(self, language: str, field: str) -> str:
        if not isinstance(self.translations, dict):
            return ""
        entry = self.translations.get(language) or self.translations.get(language.split("-")[0])
        return entry.get(field, "") if isinstance(entry, dict) else ""

    def recipient_keys(self) -> list[PublicKey]:
        """Public keys of the desk's active reviewers: everyone who may read its tips."""
        keys = ReviewerKey.objects.filter(
            user__desk_memberships__desk=self, user__is_active=True
        ).order_by("fingerprint")
        return [PublicKey(fingerprint=k.fingerprint, armored=k.public_key) for k in keys]


# Form field names the questionnaire must not use ("leave_empty" is the honeypot that bots fill,
# tipline/questionnaires.py).
RESERVED_KEYS = {"csrfmiddlewaretoken", "language", "next", "reward_contact", "leave_empty"}


class Question(models.Model):
    """One question of a desk's questionnaire, with its label in each language.

    ``labels`` and ``help_texts`` map a language code to text (``{"en": "...", "ar": "..."}``);
    English is the fallback. ``choices`` lists ``{"value": "...", "labels": {...}}`` for the
    choice kinds. The ``key`` names the answer in the encrypted envelope and the form field.
    """

    class Kind(models.TextChoices):
        TEXT = "text", "Short text"
        LONG_TEXT = "long_text", "Long text"
        CHOICE = "choice", "Choice"
        MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"
        DATE = "date", "Date"
        YES_NO = "yes_no", "Yes or no"
        FILE = "file", "Files"
        # Typed indicators (tipline/indicators.py): checked as the tipster types them, and
        # correlated across tips by keyed hash in the back office.
        CRYPTO_ADDRESS = "crypto_address", "Cryptocurrency address, with its network"
        TRANSACTION = "transaction", "Transaction ID, with its network"
        EMAIL = "email", "E-mail address"
        DOMAIN = "domain", "Domain name"
        IP_ADDRESS = "ip_address", "IP address"
        PHONE = "phone", "Phone number"
        HANDLE = "handle", "Online account, with its service"
        AMOUNT = "amount", "Amount, with its currency"
        DATE_RANGE = "date_range", "Range of dates"

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(max_length=40, help_text="Stable name of the answer, e.g. 'when'.")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    required = models.BooleanField(default=False)
    labels = models.JSONField(default=dict, help_text='{"en": "Label", "ar": "..."}')
    help_texts = models.JSONField(default=dict, blank=True, help_text='{"en": "Help", ...}')
    choices = models.JSONField(
        default=list,
        blank=True,
        help_text='[{"value": "yes", "labels": {"en": "Yes", "ar": "..."}}, ...]',
    )
    is_active = models.BooleanField(default=True)
    # The answer is also stored unencrypted so routing rules can use it. Choice kinds only:
    # free text must never be stored in the clear.
    is_routing = models.BooleanField(
        default=False,
        help_text="Store this answer unencrypted for routing rules (choice questions only; "
        "only for non-sensitive questions such as 'which country').",
    )

    class Meta:
        ordering = ["desk", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["desk", "key"], name="one_key_per_desk_question")
        ]

    def __str__(self) -> str:
        return f"{self.desk.slug}:{self.key}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        errors = {}
        if self.key in RESERVED_KEYS:
            errors["key"] = "This name is reserved by the form."
        if not isinstance(self.labels, dict) or not self.labels.get("en"):
            errors["labels"] = 'Give at least an English label: {"en": "..."}.'
        elif not all(isinstance(v, str) for v in self.labels.values()):
            errors["labels"] = "Every label must be text."
        if not isinstance(self.help_texts, dict):
            errors["help_texts"] = 'Use {"en": "...", ...} or {}.'
        if self.kind in (self.Kind.CHOICE, self.Kind.MULTIPLE_CHOICE):
            choices = self.choices if isinstance(self.choices, list) else None
            if not choices or not all(
                isinstance(c, dict)
                and str(c.get("value", "")).strip()
                and isinstance(c.get("labels"), dict)
                and c["labels"].get("en")
                for c in choices
            ):
                errors["choices"] = 'List the choices: [{"value": "x", "labels": {"en": "X"}}].'
            elif len({str(c["value"]) for c in choices}) != len(choices):
                errors["choices"] = "Each choice needs its own value."
        routable = (self.Kind.CHOICE, self.Kind.MULTIPLE_CHOICE, self.Kind.YES_NO)
        if self.is_routing and self.kind not in routable:
            errors["is_routing"] = "Only choice and yes/no answers may be used for routing."
        if errors:
            raise ValidationError(errors)

    @property
    def is_indicator(self) -> bool:
        return self.kind in INDICATOR_KINDS

    @property
    def is_group(self) -> bool:
        """Answered with several inputs, shown as a fieldset whose legend is the label."""
        return self.kind in GROUP_KINDS

    def label(self, language: str) -> str:
        return localized(self.labels, language) or self.key

    def help_text(self, language: str) -> str:
        return localized(self.help_texts, language)

    def choice_pairs(self, language: str) -> list[tuple[str, str]]:
        return [
            (
                str(choice["value"]),
                localized(choice.get("labels", {}), language) or str(choice["value"]),
            )
            for choice in self.choices
        ]


K = Question.Kind
INDICATOR_KINDS = frozenset(
    {
        K.CRYPTO_ADDRESS,
        K.TRANSACTION,
        K.EMAIL,
        K.DOMAIN,
        K.IP_ADDRESS,
        K.PHONE,
        K.HANDLE,
        K.AMOUNT,
        K.DATE_RANGE,
    }
)
GROUP_KINDS = frozenset(
    {
        K.CHOICE,
        K.MULTIPLE_CHOICE,
        K.YES_NO,
        K.CRYPTO_ADDRESS,
        K.TRANSACTION,
        K.HANDLE,
        K.AMOUNT,
        K.DATE_RANGE,
    }
)
del K


def localized(texts: dict, language: str) -> str:
    """The text for ``language`` (or its base language), falling back to English."""
    if not isinstance(texts, dict):
        return ""
    return texts.get(language) or texts.get(language.split("-")[0]) or texts.get("en") or ""


class DeskMembership(models.Model):
    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_memberships"
    )
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["desk", "user"], name="one_membership_per_desk")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.desk_id}"


class ReviewerKey(models.Model):
    """A reviewer's public key. The secret half exists only in the back office's GnuPG home."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviewer_key"
    )
    fingerprint = models.CharField(max_length=40, unique=True)
    public_key = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # During a key rotation: the key being replaced, whose secret half stays until every tip
    # encrypted to it has been re-encrypted to the new key (reviewers/rotation.py).
    previous_fingerprint = models.CharField(max_length=40, blank=True)

    def __str__(self) -> str:
        return self.fingerprint


class Tag(models.Model):
    """A reviewer's label for tips ("apt", "exchange-hack"). Stored in the clear, like status."""

    name = models.CharField(max_length=40, unique=True)
    PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
    MAX_PER_TIP = 10

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def parse(cls, text: str) -> list[str]:
        """Comma-separated tag names, normalised; ValueError says what is wrong."""
        tags = sorted({t.strip().lower() for t in text.split(",") if t.strip()})
        bad = [t for t in tags if not cls.PATTERN.match(t)]
        if bad:
            raise ValueError(
                "Tags use lowercase letters, digits and hyphens (up to 40): " + ", ".join(bad)
            )
        if len(tags) > cls.MAX_PER_TIP:
            raise ValueError(f"At most {cls.MAX_PER_TIP} tags.")
        return tags


class Tip(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        TRIAGED = "triaged", "Triaged"
        INVESTIGATING = "investigating", "Investigating"
        WAITING = "waiting", "Waiting for tipster"
        CLOSED = "closed", "Closed"

    class Resolution(models.TextChoices):
        ACTIONABLE = "actionable", "Actionable"
        NOT_ACTIONABLE = "not_actionable", "Not actionable"
        DUPLICATE = "duplicate", "Duplicate"
        SPAM = "spam", "Spam"

    class Priority(models.IntegerChoices):
        LOW = 0, "Low"
        NORMAL = 1, "Normal"
        HIGH = 2, "High"
        URGENT = 3, "Urgent"

    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, related_name="tips")
    codename_hash = models.CharField(max_length=64, unique=True)
    # How the codename's hash and the reply key were derived (tipline/codenames.py): 2, one
    # Argon2id run for both; 1, the tips stored before it, one run for each.
    codename_scheme = models.PositiveSmallIntegerField(default=2, db_default=1)
    # The tipster's message, answers and file names: one OpenPGP message to the desk's readers.
    envelope = models.BinaryField()
    # Fingerprints the envelope and files were encrypted to, so the back office can tell who
    # can read a tip without trying.
    recipients = models.JSONField(default=list)
    language = models.CharField(max_length=16, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    tags = models.ManyToManyField(Tag, blank=True, related_name="tips")
    # When the tip first left "new": time to first triage, and escalation of untriaged tips.
    triaged_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # When the tip was last closed: retention counts from here (tipline/retention.py).
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Answers to the desk's routing questions (choice answers the desk marked non-sensitive),
    # and whether files came with the tip: the only tip facts routing can see.
    routing_answers = models.JSONField(default=dict, blank=True)
    has_files = models.BooleanField(default=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tips",
    )
    routed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # X25519 public key derived from the codename (tipline/reply_keys.py); replies are sealed to it.
    reply_public_key = models.BinaryField(null=True, blank=True)
    # Public half of the tip's part key (tipline/part_keys.py); the private half is only inside
    # the envelope. Tips stored before part keys have none.
    part_public_key = models.BinaryField(null=True, blank=True)
    # The tip's public name on its signed receipt (tipline/receipts.py): random, opens nothing.
    # Tips received before receipts existed have none.
    reference = models.CharField(max_length=17, unique=True, null=True, blank=True)
    # The anti-spam field no person sees was filled in: kept, at low priority, and marked.
    suspected_spam = models.BooleanField(default=False, db_default=False)
    # The tipster's contact for the reward process, encrypted to the reward officers' keys only
    # (and to reviewers they gave access to): reviewers/rewards.py. Never in the desk's envelope.
    reward_envelope = models.BinaryField(null=True, blank=True)
    reward_recipients = models.JSONField(null=True, blank=True)
    # One of its indicators is on a watch list (reviewers/watchlists.py): shown, and prioritized.
    watchlist_hit = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["desk", "status", "-received_at"], name="tip_inbox_by_status"),
            models.Index(
                fields=["assignee", "status", "-received_at"], name="tip_inbox_by_assignee"
            ),
            # "Highest priority first" over every tip of a reviewer's desks.
            models.Index(fields=["-priority", "-received_at", "-id"], name="tip_inbox_by_priority"),
            # Whether any tip of the first codename scheme is left: a check-in whose codename
            # matches no tip of the current scheme tries the first one only then.
            models.Index(
                fields=["codename_scheme"],
                condition=models.Q(codename_scheme=1),
                name="tip_first_codename_scheme",
            ),
        ]

    def __str__(self) -> str:
        return f"Tip {self.pk}"

    @property
    def is_overdue(self) -> bool:
        """Still new after the desk's triage deadline (needs ``desk`` loaded)."""
        if self.escalated_at:
            return self.status == self.Status.NEW
        deadline = self.received_at + timedelta(hours=self.desk.triage_deadline_hours)
        return self.status == self.Status.NEW and timezone.now() > deadline

    def tipster_status(self) -> str:
        """What the tipster may see: no assignee, no dates, nothing that helps a seizer."""
        if self.status == self.Status.CLOSED:
            return "closed"
        return "being_reviewed" if self.routed_at else "received"


class ReviewerProfile(models.Model):
    """What routing needs to know about a reviewer: the languages they read, and if away;
    and whether, and when last, they were e-mailed about new work (tipline/notifications.py)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviewer_profile"
    )
    languages = models.JSONField(default=list, blank=True, help_text='e.g. ["en", "ar"]')
    is_away = models.BooleanField(default=False)
    notify_by_email = models.BooleanField(
        default=True, help_text="E-mail the reviewer when a tip is assigned to them."
    )
    # When the last new-work e-mail was claimed: at most one per TIPLINE_NOTIFY_INTERVAL_MINUTES.
    notified_at = models.DateTimeField(null=True, blank=True)
    require_passkey = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Sign in with a passkey or security key only, not an authenticator code "
        "(until one is registered, the reviewer can do nothing but register it).",
    )
    is_reward_officer = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Reads the contact details tipsters give for the reward process (encrypted to "
        "reward officers only) and decides which reviewers may read them. Grants no tip.",
    )

    def __str__(self) -> str:
        return f"profile of {self.user_id}"


class RoutingRule(models.Model):
    """One routing rule; rules are tried in order and the first that matches decides.

    Empty conditions match anything. The matched reviewers (all readers of the desk if none
    are listed) are narrowed to those who read the tip's language when any do, then to those
    not away; the one with the fewest open tips gets it.
    """

    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    desk = models.ForeignKey(Desk, null=True, blank=True, on_delete=models.CASCADE)
    language = models.CharField(max_length=16, blank=True)
    has_files = models.BooleanField(null=True, blank=True)
    question_key = models.SlugField(max_length=40, blank=True)
    answer = models.CharField(max_length=100, blank=True)
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    set_priority = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=Tip.Priority.choices
    )
    add_tags = models.CharField(max_length=200, blank=True, help_text="Comma-separated.")

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        try:
            Tag.parse(self.add_tags)
        except ValueError as exc:
            raise ValidationError({"add_tags": str(exc)}) from None
        if bool(self.question_key) != bool(self.answer):
            raise ValidationError("Give both a routing question and the answer, or neither.")

    def matches(self, tip: Tip) -> bool:
        if self.desk_id and self.desk_id != tip.desk_id:
            return False
        primary = self.language.split("-")[0].split("_")[0].lower()
        if self.language and primary != tip.language.split("-")[0].lower():
            return False
        if self.has_files is not None and self.has_files != tip.has_files:
            return False
        if self.question_key:
            given = tip.routing_answers.get(self.question_key)
            values = given if isinstance(given, list) else [given]
            if self.answer not in [str(v) for v in values if v is not None]:
                return False
        return True


class RoutingDecision(models.Model):
    """Who a tip was routed to, by which rule, and when: exactly one per tip."""

    tip = models.OneToOneField(Tip, on_delete=models.CASCADE, related_name="routing_decision")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    rule = models.CharField(max_length=200)
    decided_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"tip {self.tip_id} -> {self.reviewer_id} ({self.rule})"


class Message(models.Model):
    """A follow-up from the tipster or a reply from a reviewer, in the order they were sent.

    ``body_for_desk`` is an OpenPGP message to the desk's readers (every message has one);
    ``body_for_tipster`` is a reviewer's reply sealed to the tip's reply key, wiped when the
    tipster deletes it.
    """

    class Author(models.TextChoices):
        TIPSTER = "tipster", "Tipster"
        REVIEWER = "reviewer", "Reviewer"

    tip = models.ForeignKey(Tip, on_delete=models.CASCADE, related_name="messages")
    author = models.CharField(max_length=10, choices=Author.choices)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)
    body_for_desk = models.BinaryField()
    recipients = models.JSONField(default=list)
    # body_for_desk's own passphrase, sealed to the tip's part key (tipline/part_keys.py).
    sealed_passphrase = models.BinaryField(null=True, blank=True)
    body_for_tipster = models.BinaryField(null=True, blank=True)
    # Flags, not times: the server keeps no record of when a tipster came back.
    read_by_tipster = models.BooleanField(default=False)
    deleted_by_tipster = models.BooleanField(default=False)

    class Meta:
        ordering = ["sent_at", "pk"]

    def __str__(self) -> str:
        return f"{self.author} message {self.pk} on tip {self.tip_id}"


class Attachment(models.Model):
    """A file the tipster sent; its name and type are inside the tip's envelope."""

    tip = models.ForeignKey(Tip, on_delete=models.CASCADE, related_name="attachments")
    # Set for files sent with a follow-up; their names are inside that message's envelope.
    message = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    storage_name = models.CharField(max_length=32, unique=True)
    ciphertext_bytes = models.BigIntegerField()

    def __str__(self) -> str:
        return self.storage_name


class ThrottleWindow(models.Model):
    """How many times something happened in one fixed time window (no client data)."""

    scope = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "window_start"], name="one_window_per_scope")
        ]

    def __str__(self) -> str:
        return f"{self.scope}@{self.window_start:%H:%M}: {self.count}"


class SpentTicket(models.Model):
    """A proof-of-work ticket already counted as work (tipline/proof_of_work.py): its SHA-256,
    not the ticket, and when; forgotten once the ticket would be too old anyway."""

    digest = models.BinaryField(max_length=32, unique=True)
    spent_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"ticket spent at {self.spent_at:%H:%M}"


class ArrivalWatchDigest(models.Model):
    """An entry of a watch list an admin marked as public, as a plain SHA-256 digest
    (tipline/watch_on_arrival.py), so that the public site can flag a tip that names it as the
    tip arrives. The list is public, so the digest hides nothing a holder of the list could not
    compute; a tip's own indicators are never kept, only ``Tip.watchlist_hit``."""

    watch_list = models.ForeignKey(
        "reviewers.WatchList", on_delete=models.CASCADE, related_name="arrival_digests"
    )
    digest = models.BinaryField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["watch_list", "digest"], name="one_arrival_digest_per_list"
            )
        ]
        indexes = [models.Index(fields=["digest"], name="arrival_watch_digest")]

    def __str__(self) -> str:
        return f"arrival digest of watch list {self.watch_list_id}"


class AuditEvent(models.Model):
    """One thing a reviewer did. Written only through tipline.audit.log_action."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=64)
    # Plain ids rather than foreign keys: the trail must outlive what it talks about.
    tip_id = models.BigIntegerField(null=True, db_index=True)
    detail = models.JSONField(default=dict)
    # The hash chain (see tipline/audit.py): unique, so the trail cannot fork.
    previous_hash = models.CharField(max_length=64, unique=True)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


class ReceiptKey(models.Model):
    """The public half of a key that signed receipts (tipline/receipts.py), kept so that the back
    office can verify receipts without the public site. Its secret half never leaves the public
    site's receipt keyring."""

    fingerprint = models.CharField(max_length=40, unique=True)
    public_key = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"receipt key {self.fingerprint}"
