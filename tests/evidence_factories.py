"""Helpers for evidence tests: files made in memory, items attached through the model."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from incidents.evidence.models import EvidenceItem


def png_bytes(width: int = 64, height: int = 48, exif: Any = None) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), (200, 30, 30))
    if exif is not None:
        image.save(out, format="JPEG", exif=exif)
    else:
        image.save(out, format="PNG")
    return out.getvalue()


def jpeg_with_exif(
    *, taken: str = "2026:05:12 21:14:03", offset: str | None = "+05:00", gps: bool = True
) -> bytes:
    from PIL import ExifTags

    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "EOS 250D"
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = taken
    if offset:
        sub[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[1] = "N"
        info[2] = (51.0, 7.0, 42.0)
        info[3] = "E"
        info[4] = (71.0, 25.0, 48.0)
    return png_bytes(exif=exif)


def pdf_bytes(text: str = "Operator log: content pushed at 21:14", title: str = "Log") -> bytes:
    """A small valid PDF with one page of text (hand-written, so no writer dependency)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title ({title}) /Author (Screen operator) "
        f"/CreationDate (D:20260512211403+05'00) >>".encode(),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def upload(content: bytes, name: str = "file.bin", content_type: str = "") -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, content, content_type=content_type or "application/octet-stream"
    )


def attach(
    incident: Any, by: Any, content: bytes | None = None, name: str = "file.bin", **fields: Any
) -> EvidenceItem:
    fields.setdefault("title", "A source")
    return EvidenceItem.attach(
        incident,
        by=by,
        upload=upload(content, name, fields.pop("content_type", ""))
        if content is not None
        else None,
        **fields,
    )


TEXT = (
    "Operator log, screen 4, Kabanbay Batyr avenue.\n"
    "21:13 scheduled playlist running.\n"
    "21:14 content changed: flag image shown for 40 seconds.\n"
    "21:15 playlist restored by the night operator.\n"
)


@pytest.fixture(autouse=True)
def fast_hashing(settings: Any) -> None:
    """Argon2 makes every fixture user take a second; these tests are not about passwords.

    Login throttling is off too: on PostgreSQL, axes' login signal stores the
    IP "unknown" of a test-client login in an inet column and fails (reported
    to the lead; not an evidence matter).
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_ENABLED = False
