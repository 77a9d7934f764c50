"""Admin pages for reviewers' accounts: invitations, disabling, and resetting two-factor.

Each needs its own permission (superusers hold them all):

* ``reviewers.add_invitation``: invite a reviewer onto desks the inviter is a member of, and
  revoke invitations. An admin on no desk can invite nobody onto a desk, so this cannot be used
  to reach a desk's tips from outside it.
* ``reviewers.disable_revieweraccount``: disable and enable reviewers.
* ``reviewers.reset_totp_revieweraccount``: reset a reviewer's two-factor.

An admin never acts on their own account here, and only a superuser acts on a superuser's. The
links are shown once, on a page that is not cached; only their hashes are stored.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django_otp.plugins.otp_totp.models import TOTPDevice

from reviewers import invitations
from reviewers.admin import admin_site
from reviewers.invitation_forms import InvitationForm
from reviewers.models import Invitation, ReviewerAccount
from reviewers.provisioning import ProvisioningError, set_active
from tipline import crypto


def _show_links(request, issued: list[invitations.IssuedInvitation], title: str):
    """The page that shows each new link once (and says whether it was e-mailed)."""
    links = []
    for item in issued:
        link = request.build_absolute_uri(reverse("reviewers:invitation", args=[item.token]))
        emailed = invitations.send_link(item, link)
        links.append({"invitation": item.invitation, "link": link, "emailed": emailed})
    context = {**admin_site.each_context(request), "title": title, "links": links}
    response = TemplateResponse(request, "reviewers/invitation_admin_links.html", context)
    add_never_cache_headers(response)
    return response


@admin.register(Invitation, site=admin_site)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["username", "purpose", "state", "created_by", "created_at", "expires_at"]
    list_filter = ["purpose"]
    fields = [
        "purpose",
        "username",
        "email",
        "desks",
        "user",
        "created_by",
        "created_at",
        "expires_at",
        "used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # an invitation is made once; it can only be revoked

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # kept as the record of who was let in, and by whom

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = InvitationForm(request.POST or None, inviter=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                issued = invitations.invite_reviewer(
                    request.user, data["username"], data["email"], data["desks"]
                )
            except ProvisioningError as exc:
                form.add_error(None, str(exc))
            else:
                return _show_links(request, [issued], "Invitation created")
        context = {
            **self.admin_site.each_context(request),
            "title": "Invite a reviewer",
            "opts": self.opts,
            "form": form,
            "hours": settings.INVITATION_HOURS,
        }
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(
            request, "reviewers/invitation_admin_add.html", context, status=status
        )

    @admin.action(description="Revoke the selected invitations", permissions=["add"])
    def revoke(self, request, queryset):
        count = invitations.revoke(request.user, queryset)
        self.message_user(request, f"{count} invitation(s) revoked.", messages.SUCCESS)


@admin.register(ReviewerAccount, site=admin_site)
class ReviewerAccountAdmin(admin.ModelAdmin):
    list_display = ["username", "is_active", "is_staff", "desk_list", "key", "authenticator"]
    list_filter = ["is_active", "is_staff"]
    search_fields = ["username"]
    fields = ["username", "email", "is_active", "is_staff", "is_superuser", "last_login"]
    ordering = ["username"]
    actions = ["disable", "enable", "reset_two_factor"]

    def get_queryset(self, request):
        devices = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return (
            super()
            .get_queryset(request)
            .select_related("reviewer_key")
            .prefetch_related("desks")
            .annotate(has_authenticator=Exists(devices))
        )

    def has_add_permission(self, request) -> bool:
        return False  # reviewers join by invitation (or createreviewer)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # disable instead: the audit trail keeps naming them

    def has_disable_permission(self, request) -> bool:
        return request.user.has_perm("reviewers.disable_revieweraccount")

    def has_reset_totp_permission(self, request) -> bool:
        return request.user.has_perm("reviewers.reset_totp_revieweraccount")

    @admin.display(description="desks")
    def desk_list(self, user) -> str:
        return ", ".join(desk.slug for desk in user.desks.all())

    @admin.display(description="key")
    def key(self, user) -> str:
        key = getattr(user, "reviewer_key", None)
        if key is None:
            return "none"
        return "on this server" if crypto.holds_secret_key(key.fingerprint) else "offline"

    @admin.display(description="authenticator", boolean=True)
    def authenticator(self, user) -> bool:
        return user.has_authenticator

    def _manageable(self, request, queryset) -> list:
        """The selected accounts this admin may act on: not their own, no superuser's unless
        they are one."""
        chosen = []
        for user in queryset:
            if user.pk == request.user.pk:
                self.message_user(
                    request, "You cannot do this to your own account.", messages.ERROR
                )
            elif user.is_superuser and not request.user.is_superuser:
                self.message_user(
                    request, f"Only a superuser can do this to {user}.", messages.ERROR
                )
            else:
                chosen.append(user)
        return chosen

    @admin.action(
        description="Disable the selected reviewers (no login, sessions ended, links revoked)",
        permissions=["disable"],
    )
    def disable(self, request, queryset):
        users = self._manageable(request, queryset)
        for user in users:
            set_active(user.get_username(), False, actor=request.user)
        self.message_user(request, f"{len(users)} reviewer(s) disabled.", messages.SUCCESS)

    @admin.action(description="Enable the selected reviewers", permissions=["disable"])
    def enable(self, request, queryset):
        users = self._manageable(request, queryset)
        for user in users:
            set_active(user.get_username(), True, actor=request.user)
        self.message_user(request, f"{len(users)} reviewer(s) enabled.", messages.SUCCESS)

    @admin.action(
        description="Reset two-factor of the selected reviewers (a link to enrol a new one)",
        permissions=["reset_totp"],
    )
    def reset_two_factor(self, request, queryset):
        users = []
        for user in self._manageable(request, queryset):
            if user.is_active:
                users.append(user)
            else:
                self.message_user(request, f"{user} is disabled: enable them first.")
        if not users:
            return None
        issued = [invitations.reset_authenticator(request.user, user) for user in users]
        return _show_links(request, issued, "Two-factor reset")
