"""The case page and its regions."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from incidents.accounts.access import get_case_for_user


@login_required
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    access = get_case_for_user(request, reference)
    return render(request, "cases/detail.html", {"access": access, "incident": access.incident})
