from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from incidents import views
from incidents.cases.views import listing

admin.site.site_header = "Inquest administration"
admin.site.site_title = "Inquest admin"

# Friendly error pages (templates/errors/), incidents.errors.
handler400 = "incidents.errors.bad_request"
handler403 = "incidents.errors.permission_denied"
handler404 = "incidents.errors.page_not_found"
handler500 = "incidents.errors.server_error"

urlpatterns = [
    path("", listing.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    # Sign-in and sign-out only (Jinja2 pages); password reset and change come back later.
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="registration/login.jinja"),
        name="login",
    ),
    path(
        "accounts/logout/",
        auth_views.LogoutView.as_view(template_name="registration/logged_out.jinja"),
        name="logout",
    ),
    path("admin/", admin.site.urls),
    path("cases/", include("incidents.cases.urls")),
    path("cases/<str:reference>/hypotheses/", include("incidents.hypotheses.urls")),
    path("", include("incidents.evidence.urls")),
]

# The benchmark's floor views: benchmark mode only (INQUEST_BENCH, incidents/settings.py;
# docs/performance.md), never in production.
if settings.INQUEST_BENCH_FLOOR:
    urlpatterns.append(path("_bench/", include("incidents.perf.urls")))
