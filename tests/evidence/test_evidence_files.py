"""Uploads: streaming hash, size limit, type from the bytes, hostile names, metadata."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import File

from incidents.evidence import files
from incidents.evidence.models import CustodyEntry, EvidenceItem
from tests.evidence_factories import (  # noqa: F401 (fast_hashing is a fixture)
    TEXT,
    attach,
    fast_hashing,
    jpeg_with_exif,
    pdf_bytes,
    png_bytes,
    upload,
)

pytestmark = pytest.mark.django_db


def stored_files(media_root: str) -> list[Path]:
    return [p for p in Path(media_root).rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("C:\\Windows\\system32\\evil.exe", "evil.exe"),
        ("report\x00.pdf", "report.pdf"),
        ("line\r\nSet-Cookie: x=1.txt", "lineSet-Cookie: x=1.txt"),
        ("quote\"d 'name'.txt", "quote\"d 'name'.txt"),
        ("..", "unnamed"),
        ("", "unnamed"),
        ("\u202eexe.txt", "exe.txt"),
    ],
)
def test_sanitise_name_drops_paths_and_control_characters(hostile: str, expected: str) -> None:
    assert files.sanitise_name(hostile) == expected


def test_sanitise_name_cuts_long_names_keeping_the_extension() -> None:
    name = files.sanitise_name("a" * 400 + ".jpeg")
    assert len(name) == 300
    assert name.endswith(".jpeg")


@pytest.mark.parametrize(
    "hostile",
    [
        "../../../etc/passwd",
        "/abs/path.txt",
        "nul\x00byte.txt",
        "cr\r\nlf.txt",
        '"; filename="evil.html',
        "x" * 300 + ".txt",
    ],
)
def test_hostile_names_are_kept_as_metadata_only(
    incident: Any, lead: Any, _media_root: str, hostile: str
) -> None:
    item = attach(incident, lead, b"plain words", name=hostile)
    stored = Path(item.file.path).resolve()
    assert stored.is_relative_to(Path(_media_root).resolve())
    assert stored.name not in hostile  # a generated name, not the uploaded one
    assert "/" not in item.original_name and "\x00" not in item.original_name
    assert "\r" not in item.original_name and "\n" not in item.original_name
    assert len(item.original_name) <= 300


def test_hash_is_computed_while_storage_reads_the_file(incident: Any, lead: Any) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)

    class CountingUpload(io.BytesIO):
        reads = 0

        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            CountingUpload.bytes_read = getattr(CountingUpload, "bytes_read", 0) + len(data)
            return data

    source = CountingUpload(content)
    item = EvidenceItem.attach(incident, by=lead, upload=File(source, name="big.bin"), title="Big")
    assert item.file_sha256 == hashlib.sha256(content).hexdigest()
    assert item.file_size == len(content)
    assert CountingUpload.bytes_read == len(content)  # read once, not twice
    assert Path(item.file.path).read_bytes() == content


def test_oversized_upload_is_refused_and_leaves_nothing(
    incident: Any, lead: Any, settings: Any, _media_root: str
) -> None:
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(ValidationError) as caught:
        attach(incident, lead, b"x" * 1001, name="big.txt")
    assert "larger than the limit" in caught.value.messages[0]
    assert not EvidenceItem.objects.exists()
    assert not CustodyEntry.objects.exists()
    assert stored_files(_media_root) == []


def test_upload_lying_about_its_size_is_stopped_mid_stream(
    incident: Any, lead: Any, settings: Any, _media_root: str
) -> None:
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 1000
    lying = upload(b"y" * 5000, "small.txt")
    lying.size = 10
    with pytest.raises(ValidationError):
        EvidenceItem.attach(incident, by=lead, upload=lying, title="Lies")
    assert not EvidenceItem.objects.exists()
    assert stored_files(_media_root) == []


def test_invalid_fields_after_storing_remove_the_file(
    incident: Any, lead: Any, _media_root: str
) -> None:
    with pytest.raises(ValidationError):
        attach(incident, lead, b"words", title="")
    assert not EvidenceItem.objects.exists()
    assert stored_files(_media_root) == []


def test_html_disguised_as_png_is_detected_as_html(incident: Any, lead: Any) -> None:
    item = attach(
        incident,
        lead,
        b"<!doctype html><script>alert(1)</script>",
        name="cat.png",
        content_type="image/png",
    )
    assert item.file_type == "text/html"
    assert item.extracted_metadata["claimed_type"] == "image/png"
    assert item.is_markup and not item.is_image


@pytest.mark.parametrize(
    ("content", "mime"),
    [
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>',
            "image/svg+xml",
        ),
        (b"  <svg onload=alert(1)>", "image/svg+xml"),
        (b"\xef\xbb\xbf<HTML><body>x", "text/html"),
        (b"%PDF-1.4\n", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "image/png"),
        (b"", "application/x-empty"),
        (bytes(range(256)) * 4, "application/octet-stream"),
    ],
)
def test_detect_type_from_bytes(content: bytes, mime: str) -> None:
    assert files.detect_type(content) == mime


def test_same_file_twice_links_the_earlier_item(incident: Any, lead: Any) -> None:
    first = attach(incident, lead, b"same bytes", name="a.txt", title="First")
    second = attach(incident, lead, b"same bytes", name="b.txt", title="Second")
    assert second.duplicate_of == first
    assert first.duplicate_of is None
    assert "same file as “First”" in incident.updates.filter(evidence=second).get().body


def test_same_file_in_another_case_is_not_a_duplicate(incident: Any, lead: Any) -> None:
    from incidents.cases.models import Incident

    other = Incident.open_case(by=lead, title="Other case")
    attach(incident, lead, b"same bytes", name="a.txt")
    assert attach(other, lead, b"same bytes", name="a.txt").duplicate_of is None


def test_exif_offered_as_event_time_and_place(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, jpeg_with_exif(), name="IMG_0001.JPG")
    image = item.extracted_metadata["image"]
    assert image["camera"] == "Canon EOS 250D"
    assert image["taken_at"] == "2026-05-12T21:14:03+05:00"
    assert image["gps"] == {"latitude": pytest.approx(51.128333), "longitude": pytest.approx(71.43)}
    assert item.kind == EvidenceItem.Kind.PHOTO
    assert item.event_at is None  # a suggestion only, until confirmed
    item.use_suggestion("event_at")
    item.use_suggestion("place")
    item.refresh_from_db()
    assert item.event_at.isoformat() == "2026-05-12T16:14:03+00:00"
    assert float(item.event_latitude) == pytest.approx(51.128333)


def test_exif_time_without_offset_is_read_in_the_case_zone(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, jpeg_with_exif(offset=None, gps=False), name="x.jpg")
    assert item.suggestions["event_at_zone_known"] is False
    item.use_suggestion("event_at")
    item.refresh_from_db()
    assert item.event_at.isoformat() == "2026-05-12T16:14:03+00:00"  # Asia/Almaty is +05
    assert item.event_uncertainty is not None
    with pytest.raises(ValidationError):
        item.use_suggestion("place")


def test_pdf_metadata_and_text_fill_an_empty_body(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, pdf_bytes(), name="log.pdf")
    assert item.file_type == "application/pdf"
    assert item.extracted_metadata["pdf"]["title"] == "Log"
    assert item.extracted_metadata["pdf"]["created"] == "2026-05-12T21:14:03+05:00"
    assert "content pushed at 21:14" in item.text_body


def test_pdf_text_does_not_replace_what_the_investigator_wrote(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, pdf_bytes(), name="log.pdf", text_body="My transcript.")
    assert item.text_body == "My transcript."


def test_text_encoding_is_detected(incident: Any, lead: Any) -> None:
    content = "Оператор сообщил, что изображение флага появилось на экране в 21:14. " * 5
    item = attach(incident, lead, content.encode("cp1251"), name="statement.txt")
    assert item.extracted_metadata["text"]["encoding"] == "cp1251"
    assert item.text_body.startswith("Оператор сообщил")


def test_crlf_text_is_normalised_for_annotation(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, TEXT.replace("\n", "\r\n").encode(), name="log.txt")
    assert "\r" not in item.text_body


def test_video_metadata_says_not_available_without_ffprobe(
    incident: Any, lead: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(files.shutil, "which", lambda name: None)
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
    item = attach(incident, lead, mp4, name="clip.mp4")
    assert item.file_type.startswith("video/")
    assert item.extracted_metadata["video"] == {
        "available": False,
        "note": "Not available: ffprobe is not installed.",
    }


def test_broken_image_does_not_stop_the_upload(incident: Any, lead: Any) -> None:
    item = attach(incident, lead, b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, name="broken.png")
    assert item.pk and "error" in item.extracted_metadata


def test_thumbnail_is_a_reencoded_png(incident: Any, lead: Any) -> None:
    from PIL import Image

    item = attach(incident, lead, png_bytes(2400, 1200), name="wide.png")
    data = files.thumbnail_png(item.file.storage, item.file.name)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.size == (1600, 800)


def test_the_page_of_a_repeated_file_links_the_earlier_item(
    client: Any, incident: Any, lead: Any, investigator: Any
) -> None:
    first = attach(incident, lead, b"same bytes", name="a.txt", title="First <copy>")
    second = attach(incident, investigator, b"same bytes", name="b.txt", title="Second")
    client.force_login(lead)
    html = client.get(second.get_absolute_url()).content.decode()
    assert f'<a href="{first.get_absolute_url()}">“First &lt;copy&gt;”</a>' in html
    assert f"by {investigator.get_username()}" in html
    page = client.get(first.get_absolute_url()).content.decode()
    assert "Both are kept" not in page and f"by {lead.get_username()}" in page
