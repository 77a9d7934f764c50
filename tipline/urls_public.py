"""URLs of the public site. Nothing from the back office is imported or routed here."""

from django.urls import include, path

from tipline import views

urlpatterns = [
    path("", views.index, name="index"),
    path("submit/<slug:slug>/", views.submit, name="submit"),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler400 = "tipline.views.bad_request"
handler404 = "tipline.views.page_not_found"
handler500 = "tipline.views.server_error"
