"""URLs of the back office. Served only by the back-office process (TIPLINE_SITE=backoffice)."""

from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from reviewers import (
    case_views,
    correlation_views,
    invitation_views,
    key_views,
    passkeys,
    receipt_views,
    reward_views,
    spam_views,
    stats_views,
    views,
    watchlist_views,
)
from reviewers.admin import admin_site
from tipline.views import health_status

routes = [
    path("", views.inbox, name="inbox"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    # The second step of a login with a passkey: for a session whose password was right.
    path("login/passkey/", passkeys.login_step, name="login_passkey"),
    path("login/passkey/begin/", passkeys.BeginLogin.as_view(), name="passkey_login_begin"),
    path(
        "login/passkey/complete/",
        passkeys.CompleteLogin.as_view(),
        name="passkey_login_complete",
    ),
    path("me/passkeys/", passkeys.manage, name="passkeys"),
    path(
        "me/passkeys/register/begin/",
        passkeys.BeginRegistration.as_view(),
        name="passkey_register_begin",
    ),
    path(
        "me/passkeys/register/complete/",
        passkeys.CompleteRegistration.as_view(),
        name="passkey_register_complete",
    ),
    path("me/passkeys/<int:pk>/remove/", passkeys.remove, name="passkey_remove"),
    # The passkey scripts' messages; no data.
    path(
        "passkeys/i18n.js",
        JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]),
        name="passkey_i18n",
    ),
    # No login: the token is the credential (reviewers/invitations.py).
    path("invite/<str:token>/", invitation_views.invitation, name="invitation"),
    path("key/unlock/", views.unlock_key, name="unlock"),
    path("key/lock/", views.lock_key, name="lock"),
    path("tips/<int:pk>/", views.tip_detail, name="tip"),
    path("tips/resolve-spam/", views.resolve_spam, name="resolve_spam"),
    path("spam/groups/", spam_views.groups, name="spam_groups"),
    path("spam/sort/", spam_views.sort, name="spam_sort"),
    path("spam/groups/close/", spam_views.close, name="spam_close"),
    path("tips/<int:pk>/reply/", views.reply, name="reply"),
    path("tips/<int:pk>/triage/", views.triage_tip, name="triage"),
    path("tips/<int:pk>/notes/", views.note, name="note"),
    path(
        "tips/<int:pk>/files/<str:name>/encrypted/",
        views.attachment_ciphertext,
        name="attachment_encrypted",
    ),
    path("tips/<int:pk>/encrypted/<str:part>/", views.part_ciphertext, name="part_encrypted"),
    path("tips/<int:pk>/reencrypt/", key_views.tip_reencrypt, name="reencrypt"),
    path("tips/<int:pk>/move/", key_views.tip_move, name="move"),
    path("reencrypt/", key_views.backlog, name="backlog"),
    path("me/key/", key_views.my_key, name="my_key"),
    path("cases/", case_views.case_list, name="cases"),
    path("cases/new/", case_views.case_create, name="case_create"),
    path("cases/<int:pk>/", case_views.case_detail, name="case"),
    path("cases/<int:pk>/edit/", case_views.case_update, name="case_update"),
    path("cases/<int:pk>/notes/", case_views.case_note, name="case_note"),
    path("cases/<int:pk>/export/", case_views.case_export, name="case_export"),
    path("tips/<int:pk>/case/", case_views.tip_case, name="tip_case"),
    path("audit/", views.audit_log, name="audit"),
    path("indicators/", correlation_views.lookup, name="indicators"),
    path("watchlists/", watchlist_views.watch_lists, name="watchlists"),
    path("receipts/verify/", receipt_views.verify, name="receipt_verify"),
    path("rewards/", reward_views.overview, name="rewards"),
    path("rewards/requests/<int:pk>/", reward_views.decide, name="reward_decide"),
    path("tips/<int:pk>/reward/request/", reward_views.request_access, name="reward_request"),
    path("tips/<int:pk>/link-shared/", correlation_views.link_shared, name="link_shared"),
    path("stats/", stats_views.dashboard, name="stats"),
    path("me/away/", views.toggle_away, name="away"),
    path("me/notifications/", views.toggle_notifications, name="notifications"),
    path("tips/<int:pk>/files/<str:name>/", views.attachment_download, name="attachment"),
]

urlpatterns = [
    path("", include((routes, "reviewers"), namespace="reviewers")),
    # For monitoring on the internal network: says only which dependency is down, no data.
    path("health/", health_status, name="health"),
    path("admin/", admin_site.urls),
]

handler404 = "reviewers.views.page_not_found"
handler500 = "reviewers.views.server_error"
