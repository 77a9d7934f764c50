"""URLs of the public site. Nothing from the back office is imported or routed here."""

from django.urls import include, path

from tipline import receipt_views, views

urlpatterns = [
    path("", views.index, name="index"),
    path("submit/<slug:slug>/", views.submit, name="submit"),
    path("checkin/", views.checkin, name="checkin"),
    path("tip/", views.tip_status, name="tip_status"),
    path("tip/followup/", views.followup, name="followup"),
    path("tip/replies/<int:pk>/delete/", views.delete_reply, name="delete_reply"),
    path("tip/checkout/", views.checkout, name="checkout"),
    path("tip/receipt/", receipt_views.download_receipt, name="download_receipt"),
    path("metadata.json", views.metadata, name="metadata"),
    path("health/", views.health_status, name="health"),
    path("organization-key.asc", views.organization_key, name="organization_key"),
    path("receipt-key.asc", receipt_views.receipt_key, name="receipt_key"),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler400 = "tipline.views.bad_request"
handler404 = "tipline.views.page_not_found"
handler500 = "tipline.views.server_error"
