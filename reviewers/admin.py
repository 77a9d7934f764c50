"""The administration site for desks and their questionnaires (staff with TOTP only).

Tips, keys and memberships are deliberately absent: what an admin can change here never lets
them read a tip. The one exception is inviting a reviewer onto desks, which has a permission of
its own (reviewers/invitation_admin.py, which also lists reviewers' accounts to disable them or
reset their two-factor). Every change is also written to the audit trail.
"""

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django_otp.admin import OTPAdminSite

from tipline.audit import log_action
from tipline.models import Desk, Question, ReviewerProfile, RoutingRule


class TiplineAdminSite(OTPAdminSite):
    site_header = "Tipline administration"
    site_title = "Tipline administration"
    index_title = "Desks and questionnaires"

    def login(self, request, extra_context=None):
        """One login for the whole back office: its own form, which audits every login."""
        return redirect_to_login(
            request.GET.get("next", reverse("tipline_admin:index")), reverse("reviewers:login")
        )


admin_site = TiplineAdminSite(name="tipline_admin")


class AuditedModelAdmin(admin.ModelAdmin):
    def log_addition(self, request, obj, message):
        log_action(request.user, f"admin.{obj._meta.model_name}.add", object_id=obj.pk)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        log_action(request.user, f"admin.{obj._meta.model_name}.change", object_id=obj.pk)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            log_action(request.user, f"admin.{obj._meta.model_name}.delete", object_id=obj.pk)
        return super().log_deletions(request, queryset)


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 1  # one blank question form, so a question can be added without JavaScript
    fields = [
        "position",
        "key",
        "kind",
        "required",
        "is_active",
        "is_routing",
        "labels",
        "help_texts",
        "choices",
    ]


@admin.register(Desk, site=admin_site)
class DeskAdmin(AuditedModelAdmin):
    list_display = ["name", "slug", "is_active"]
    fields = [
        "slug",
        "name",
        "description",
        "translations",
        "is_active",
        "triage_deadline_hours",
        "lead",
    ]
    inlines = [QuestionInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        for formset in formsets:
            for obj in formset.new_objects + [o for o, _ in formset.changed_objects]:
                log_action(
                    request.user, "admin.question.save", object_id=obj.pk, desk=form.instance.slug
                )
            for obj in formset.deleted_objects:
                log_action(
                    request.user, "admin.question.delete", desk=form.instance.slug, key=obj.key
                )


@admin.register(RoutingRule, site=admin_site)
class RoutingRuleAdmin(AuditedModelAdmin):
    list_display = [
        "position",
        "name",
        "desk",
        "language",
        "has_files",
        "question_key",
        "answer",
        "is_active",
    ]
    list_editable = ["is_active"]
    filter_horizontal = ["reviewers"]


@admin.register(ReviewerProfile, site=admin_site)
class ReviewerProfileAdmin(AuditedModelAdmin):
    list_display = ["user", "languages", "is_away", "require_passkey", "is_reward_officer"]
    fields = ["user", "languages", "is_away", "require_passkey", "is_reward_officer"]


# Registered on admin_site when this module is imported, and only then (back office only).
from reviewers import invitation_admin  # noqa: E402, F401
