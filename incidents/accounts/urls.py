"""The account pages: /accounts/… (sign-in and sign-out are in incidents/urls.py).

The password views keep Django's route names (``password_change``,
``password_reset_confirm``…): Django's views and e-mails reverse them.
"""

from django.urls import path

from incidents.accounts import account_views, password, twofactor

urlpatterns = [
    path("", account_views.account, name="account"),
    path("sessions/", account_views.sessions, name="account_sessions"),
    path("password/", password.ChangeView.as_view(), name="password_change"),
    path("password/changed/", password.ChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", password.ResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", password.ResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        password.ResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        password.ResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("two-step/", twofactor.manage, name="two_factor"),
    path("two-step/set-up/", twofactor.setup, name="two_factor_setup"),
    path("two-step/verify/", twofactor.verify, name="two_factor_verify"),
]
