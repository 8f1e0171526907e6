"""The home page, the case list and opening a case."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from incidents.cases.models import Incident


@login_required
def home(request: HttpRequest) -> HttpResponse:
    cases = Incident.objects.visible_to(request.user).select_related("lead")[:20]
    return render(request, "cases/home.html", {"cases": cases})


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    cases = Incident.objects.visible_to(request.user).select_related("lead")[:50]
    return render(request, "cases/list.html", {"cases": cases})


@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError  # built in the workspace issue
