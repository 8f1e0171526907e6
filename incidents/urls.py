from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from incidents import params, views  # noqa: F401 (params registers <id:…> and <ref:…>)
from incidents.accounts.forms import AdminLoginForm, LoginForm
from incidents.cases.views import listing

admin.site.site_header = "Inquest administration"
admin.site.site_title = "Inquest admin"
admin.site.login_form = AdminLoginForm  # a username past its column is a form error

# Friendly error pages (templates/errors/), incidents.errors.
handler400 = "incidents.errors.bad_request"
handler403 = "incidents.errors.permission_denied"
handler404 = "incidents.errors.page_not_found"
handler500 = "incidents.errors.server_error"

urlpatterns = [
    path("", listing.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    # Sign-in and sign-out (Jinja2 pages); the account pages are incidents/accounts/urls.py.
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.jinja", authentication_form=LoginForm
        ),
        name="login",
    ),
    path(
        "accounts/logout/",
        auth_views.LogoutView.as_view(template_name="registration/logged_out.jinja"),
        name="logout",
    ),
    path("accounts/", include("incidents.accounts.urls")),
    path("admin/", admin.site.urls),
    path("audit/", include("incidents.audit.urls")),  # staff: signed receipts of the trail
    path("cases/", include("incidents.cases.urls")),
    path("cases/<ref:reference>/hypotheses/", include("incidents.hypotheses.urls")),
    path("cases/<ref:reference>/chronology/", include("incidents.chronology.urls")),
    path("cases/<ref:reference>/", include("incidents.reports.urls")),  # reports, markings
    path("", include("incidents.evidence.urls")),
]

# The benchmark's floor views: benchmark mode only (INQUEST_BENCH, incidents/settings.py;
# docs/performance.md), never in production.
if settings.INQUEST_BENCH_FLOOR:
    urlpatterns.append(path("_bench/", include("incidents.perf.urls")))
