"""Evidence files: streaming hash, type detection, metadata extraction, thumbnails.

The rules here are about bytes, not about the database: ``models/items.py``
calls them inside its transactions.

- The SHA-256 of an upload is computed while storage reads it
  (:class:`HashingFile`), so the request never reads a file twice to hash it.
- The type comes from the bytes (puremagic, plus a sniff for markup that a
  browser would render), never from the name or the browser's claim
  (:mod:`incidents.evidence.filetypes`, re-exported here).
- Metadata is extracted into a plain dict kept in ``extracted_metadata``:
  suggestions the investigator may confirm, apart from what they entered.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import Storage
from django.template.defaultfilters import filesizeformat

from incidents.evidence.filetypes import detect_type as detect_type  # re-exported
from incidents.evidence.filetypes import is_markup as is_markup  # re-exported
from incidents.evidence.filetypes import is_raster_image, is_textual
from incidents.evidence.filetypes import kind_for_type as kind_for_type  # re-exported

HEAD_BYTES = 64 * 1024
HASH_CHUNK = 1024 * 1024
MAX_NAME_LENGTH = 300
MAX_TEXT_CHARS = 1_000_000
PDF_MAX_PAGES = 200
THUMBNAIL_BOX = (1600, 1600)
MAX_IMAGE_PIXELS = 80_000_000


class UploadTooLarge(ValidationError):
    """The upload is over settings.EVIDENCE_MAX_UPLOAD_BYTES."""


def too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(
        "This file is larger than the limit of %(limit)s; nothing was saved.",
        code="too_large",
        params={"limit": filesizeformat(limit)},
    )


# -- Names -------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def sanitise_name(name: str | None) -> str:
    """An uploaded file's name made safe to keep and show: metadata only, never a path.

    Directory parts (``../``, ``C:\\``, ``/etc/``) are dropped, control
    characters (NUL, CR, LF, bidi overrides) removed, and the result cut to
    300 characters keeping the extension.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", name).strip().strip(".").strip()
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: MAX_NAME_LENGTH - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_NAME_LENGTH]
    return name or "unnamed"


# -- Streaming hash ----------------------------------------------------------


class HashingFile(File):
    """Wrap an upload so that storage, reading it once, also hashes and measures it.

    Storage backends call ``chunks()`` (FileSystemStorage) or ``read()``
    (most others); both feed the digest. The first bytes are kept for type
    detection. Reading past LIMIT raises :class:`UploadTooLarge` mid-stream,
    so an upload that lied about its size is stopped too.
    """

    def __init__(self, upload: Any, *, limit: int) -> None:
        super().__init__(upload, name=getattr(upload, "name", None))
        self.digest = hashlib.sha256()
        self.limit = limit
        self.bytes_read = 0
        self.head = b""

    def _feed(self, data: bytes) -> bytes:
        if data:
            self.bytes_read += len(data)
            if self.bytes_read > self.limit:
                raise too_large(self.limit)
            if len(self.head) < HEAD_BYTES:
                self.head += data[: HEAD_BYTES - len(self.head)]
            self.digest.update(data)
        return data

    def _reset(self) -> None:
        self.digest = hashlib.sha256()
        self.bytes_read = 0
        self.head = b""

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset == 0 and whence == 0:
            self._reset()
        elif self.bytes_read:
            raise OSError("A hashing upload can only be rewound to its start.")
        assert self.file is not None
        return self.file.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        assert self.file is not None
        return self._feed(self.file.read(size))

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        if hasattr(self.file, "seek"):
            self.seek(0)
        while data := self.read(chunk_size or self.DEFAULT_CHUNK_SIZE):
            yield data

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks()

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


def hash_stored(storage: Storage, name: str) -> tuple[str, int]:
    """Re-hash a stored file, reading it in chunks: (hex digest, size)."""
    digest = hashlib.sha256()
    size = 0
    with storage.open(name, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# -- Text --------------------------------------------------------------------


def normalise_text(text: str) -> str:
    """Text as a browser's DOM holds it: CRLF and CR become LF, NUL becomes U+FFFD.

    Annotation positions count code points over this form, so offsets taken
    from the page's textContent match the server's.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")


@dataclass
class Extracted:
    metadata: dict[str, Any]
    text: str = ""


def extract(storage: Storage, name: str, mime: str) -> Extracted:
    """Metadata (and text, where there is some) from a stored file; never raises on bad input."""
    try:
        if is_raster_image(mime):
            return Extracted({"image": image_metadata(storage, name)})
        if mime == "application/pdf":
            return pdf_metadata(storage, name)
        if mime.startswith(("video/", "audio/")):
            return Extracted({"video": video_metadata(storage, name)})
        if is_textual(mime):
            return text_metadata(storage, name)
    except Exception as exc:  # a malformed file must not stop the upload
        return Extracted({"error": f"Metadata could not be read: {type(exc).__name__}"})
    return Extracted({})


def text_metadata(storage: Storage, name: str) -> Extracted:
    from charset_normalizer import from_bytes

    with storage.open(name, "rb") as handle:
        data = handle.read(MAX_TEXT_CHARS * 4 + 1)
    truncated = len(data) > MAX_TEXT_CHARS * 4
    best = from_bytes(data[: MAX_TEXT_CHARS * 4]).best()
    if best is None:
        return Extracted(
            {"text": {"encoding": None, "note": "The encoding could not be detected."}}
        )
    text = normalise_text(str(best))[:MAX_TEXT_CHARS]
    meta = {
        "encoding": best.encoding,
        "language": best.language if best.language != "Unknown" else None,
        "truncated": truncated or len(text) >= MAX_TEXT_CHARS,
    }
    return Extracted({"text": meta}, text=text)


def pdf_metadata(storage: Storage, name: str) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    with storage.open(name, "rb") as handle:
        try:
            reader = PdfReader(handle)
            if reader.is_encrypted:
                return Extracted({"pdf": {"encrypted": True, "note": "Encrypted: no text."}})
            info: Any = reader.metadata or {}
            meta: dict[str, Any] = {"pages": len(reader.pages)}
            for key, label in (
                ("/Title", "title"),
                ("/Author", "author"),
                ("/Creator", "creator"),
                ("/Producer", "producer"),
                ("/Subject", "subject"),
            ):
                if value := info.get(key):
                    meta[label] = str(value)[:500]
            for key, label in (("/CreationDate", "created"), ("/ModDate", "modified")):
                if when := _pdf_date(info.get(key)):
                    meta[label] = when.isoformat()
            parts: list[str] = []
            size = 0
            for page in reader.pages[:PDF_MAX_PAGES]:
                chunk = page.extract_text() or ""
                parts.append(chunk)
                size += len(chunk)
                if size >= MAX_TEXT_CHARS:
                    break
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            return Extracted({"pdf": {"note": f"The PDF could not be read: {exc}"[:300]}})
    text = normalise_text("\n\n".join(parts))[:MAX_TEXT_CHARS].strip()
    meta["text_characters"] = len(text)
    return Extracted({"pdf": meta}, text=text)


def _pdf_date(value: Any) -> dt.datetime | None:
    if not value:
        return None
    match = re.match(
        r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+\-])?(\d{2})?'?(\d{2})?", str(value)
    )
    if not match:
        return None
    y, mo, d, h, mi, s, sign, oh, om = match.groups()
    tz = dt.UTC
    if sign in ("+", "-") and oh:
        offset = dt.timedelta(hours=int(oh), minutes=int(om or 0))
        tz = dt.timezone(offset if sign == "+" else -offset)
    try:
        return dt.datetime(
            int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0), tzinfo=tz
        )
    except ValueError:
        return None


def _open_image(handle: IO[bytes]) -> Any:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    return Image.open(handle)


def image_metadata(storage: Storage, name: str) -> dict[str, Any]:
    """Size, camera, original time and GPS position from a photo's EXIF."""
    from PIL import ExifTags

    with storage.open(name, "rb") as handle:
        image = _open_image(handle)
        width, height = image.size
        exif = image.getexif()
        orientation = exif.get(ExifTags.Base.Orientation, 1)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        meta: dict[str, Any] = {"width": width, "height": height, "format": image.format}
        camera = " ".join(
            str(exif.get(tag, "")).strip("\x00 ")
            for tag in (ExifTags.Base.Make, ExifTags.Base.Model)
        ).strip()
        if camera:
            meta["camera"] = camera[:200]
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        taken = sub.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
        offset = sub.get(ExifTags.Base.OffsetTimeOriginal) or sub.get(ExifTags.Base.OffsetTime)
        if when := _exif_time(taken, offset):
            meta["taken_at"], meta["taken_at_zone_known"] = when
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        if position := _gps(gps):
            meta["gps"] = position
    return meta


def _exif_time(taken: Any, offset: Any) -> tuple[str, bool] | None:
    if not taken:
        return None
    try:
        naive = dt.datetime.strptime(str(taken).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if offset and (match := re.fullmatch(r"([+-])(\d{2}):(\d{2})", str(offset).strip("\x00 "))):
        delta = dt.timedelta(hours=int(match[2]), minutes=int(match[3]))
        zone = dt.timezone(delta if match[1] == "+" else -delta)
        return naive.replace(tzinfo=zone).isoformat(), True
    # No offset recorded: the camera's local time, zone unknown.
    return naive.isoformat(), False


def _gps(gps: dict[int, Any]) -> dict[str, float] | None:
    try:
        lat = _degrees(gps[2]) * (-1 if str(gps.get(1, "N")).upper().startswith("S") else 1)
        lon = _degrees(gps[4]) * (-1 if str(gps.get(3, "E")).upper().startswith("W") else 1)
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return {"latitude": round(lat, 6), "longitude": round(lon, 6)}


def _degrees(value: Any) -> float:
    d, m, s = (float(part) for part in value)
    return d + m / 60 + s / 3600


def video_metadata(storage: Storage, name: str) -> dict[str, Any]:
    """Duration and creation time through ffprobe, when it is installed."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return {"available": False, "note": "Not available: ffprobe is not installed."}
    try:
        path = storage.path(name)
    except NotImplementedError:
        return {"available": False, "note": "Not available: the file is not on a local disk."}
    try:
        result = subprocess.run(  # noqa: S603 (fixed argv, no shell)
            [
                ffprobe,
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_format",
                "-show_streams",
                "--",
                path,
            ],
            capture_output=True,
            timeout=30,
            check=True,
        )
        probe = json.loads(result.stdout or b"{}")
    except (subprocess.SubprocessError, OSError, ValueError):
        return {"available": False, "note": "Not available: ffprobe could not read the file."}
    fmt = probe.get("format", {})
    meta: dict[str, Any] = {"available": True}
    with contextlib.suppress(KeyError, TypeError, ValueError):
        meta["duration_seconds"] = round(float(fmt["duration"]), 3)
    tags = {k.lower(): v for k, v in (fmt.get("tags") or {}).items()}
    if created := tags.get("creation_time"):
        meta["created_at"] = str(created)[:40]
    if location := tags.get("location") or tags.get("com.apple.quicktime.location.iso6709"):
        meta["location_iso6709"] = str(location)[:60]
        if match := re.match(r"([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)", str(location)):
            meta["gps"] = {"latitude": float(match[1]), "longitude": float(match[2])}
    streams = [s for s in probe.get("streams", []) if s.get("codec_type") == "video"]
    if streams:
        meta["width"], meta["height"] = streams[0].get("width"), streams[0].get("height")
        meta["codec"] = streams[0].get("codec_name")
    return meta


def suggestions(metadata: dict[str, Any]) -> dict[str, Any]:
    """Event time and place the metadata offers (the investigator confirms them)."""
    found: dict[str, Any] = {}
    image = metadata.get("image") or {}
    video = metadata.get("video") or {}
    if image.get("taken_at"):
        found["event_at"] = image["taken_at"]
        found["event_at_zone_known"] = image.get("taken_at_zone_known", False)
        found["event_at_source"] = "EXIF original time"
    elif video.get("created_at"):
        found["event_at"] = video["created_at"]
        found["event_at_zone_known"] = True
        found["event_at_source"] = "video creation time"
    gps = image.get("gps") or video.get("gps")
    if gps:
        found["place"] = gps
        found["place_source"] = "EXIF GPS" if image.get("gps") else "video location"
    return found


# -- Thumbnails --------------------------------------------------------------


def thumbnail_png(storage: Storage, name: str) -> bytes:
    """A re-encoded PNG preview: nothing of the original's bytes reaches the browser."""
    from PIL import ImageOps

    with storage.open(name, "rb") as handle:
        image = _open_image(handle)
        image = ImageOps.exif_transpose(image)
        image.thumbnail(THUMBNAIL_BOX)
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA")
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=False)
    return out.getvalue()
