"""What the apps' models share: text and choice rules, tags, the deferred search vector."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "“%(value)s” is not a known time zone; use an IANA name such as Asia/Almaty.",
            params={"value": value},
        ) from None


def written_text(value: str | None, field: str) -> str:
    """VALUE as it is kept: stripped of surrounding space. A NUL character is
    refused with a message (PostgreSQL cannot store one in text; the forms
    refuse it too, this covers the admin actions and scripts)."""
    text = (value or "").strip()
    if "\x00" in text:
        raise ValidationError({field: "Remove the null character (\\x00) from this text."})
    return text


def choices_constraint(
    field: str, choices: type[models.Choices], model: str
) -> models.CheckConstraint:
    """A named database constraint that keeps FIELD inside CHOICES, even for .update()."""
    return models.CheckConstraint(
        condition=Q(**{f"{field}__in": choices.values}), name=f"{model}_{field}_valid"
    )


class Tag(models.Model):
    name = models.SlugField(max_length=50, unique=True, allow_unicode=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SearchVectorDeferred(models.Manager[Any]):
    """Querysets that leave the ``search_vector`` column in the database: it is
    the database's own (full-text search and the triggers that keep it), and as
    long as the text it indexes. Filters and ranks still use it in SQL."""

    def get_queryset(self) -> models.QuerySet[Any]:
        return super().get_queryset().defer("search_vector")
