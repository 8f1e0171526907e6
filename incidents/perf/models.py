"""What the generator made, so the benchmark knows where to look."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Dataset(models.Model):
    """One run of ``generate_data``: its size, seed, timing and landmarks."""

    size = models.CharField(max_length=8)
    scale = models.PositiveIntegerField(default=1)
    seed = models.PositiveIntegerField()
    cases = models.PositiveIntegerField()
    evidence = models.PositiveIntegerField()
    timeline = models.PositiveIntegerField()
    normal_reference = models.CharField(max_length=20)
    heavy_reference = models.CharField(max_length=20)
    member_username = models.CharField(max_length=150)
    staff_username = models.CharField(max_length=150)
    terms = models.JSONField(default=dict)
    seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.size} ({self.cases} cases) at {self.created_at:%Y-%m-%d %H:%M}"
