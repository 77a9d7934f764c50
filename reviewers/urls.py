"""URLs of the back office. Served only by the back-office process (TIPLINE_SITE=backoffice)."""

from django.urls import include, path

from reviewers import views
from reviewers.admin import admin_site
from tipline.views import health_status

routes = [
    path("", views.inbox, name="inbox"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("key/unlock/", views.unlock_key, name="unlock"),
    path("key/lock/", views.lock_key, name="lock"),
    path("tips/<int:pk>/", views.tip_detail, name="tip"),
    path("tips/<int:pk>/reply/", views.reply, name="reply"),
    path("tips/<int:pk>/triage/", views.triage_tip, name="triage"),
    path("tips/<int:pk>/notes/", views.note, name="note"),
    path(
        "tips/<int:pk>/files/<str:name>/encrypted/",
        views.attachment_ciphertext,
        name="attachment_encrypted",
    ),
    path("audit/", views.audit_log, name="audit"),
    path("me/away/", views.toggle_away, name="away"),
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
