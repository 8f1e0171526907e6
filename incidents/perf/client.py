"""The benchmark's HTTP client and the bits of HTML it reads (CSRF token, next page).

A tiny client with a cookie jar, one connection per request, as a browser
might; no dependency beyond the standard library. Used by
``incidents.perf.benchmark`` and ``incidents.perf.pages``.
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from html import unescape
from typing import Any


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float
    cookies: dict[str, str] = field(default_factory=dict)


class Client:
    """A tiny HTTP client with a cookie jar; one connection per request, as a browser might."""

    def __init__(self, base_url: str) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = urllib.parse.urlencode(data or {}, doseq=True).encode() if data is not None else None
        hdrs = {"Host": f"{self.host}:{self.port}", "User-Agent": "inquest-bench"}
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        hdrs.update(headers or {})
        started = time.perf_counter()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            content = resp.read()
        finally:
            conn.close()
        seconds = time.perf_counter() - started
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                if val and "max-age=0" not in value.lower():
                    self.cookies[key.strip()] = val.strip()
                else:
                    self.cookies.pop(key.strip(), None)
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, content, seconds)


# -- HTML helpers -----------------------------------------------------------------

INPUT_RE = re.compile(r"<input\b[^>]*>", re.I | re.S)
ATTR_RE = re.compile(r'([\w:-]+)\s*=\s*("([^"]*)"|\'([^\']*)\')', re.S)
A_RE = re.compile(r"<a\b([^>]*)>(.*?)</a>", re.I | re.S)


def attrs(tag: str) -> dict[str, str]:
    return {
        m.group(1).lower(): unescape(m.group(3) or m.group(4) or "") for m in ATTR_RE.finditer(tag)
    }


def csrf_token(html: str, cookies: dict[str, str]) -> str:
    for tag in INPUT_RE.findall(html):
        a = attrs(tag)
        if a.get("name") == "csrfmiddlewaretoken" and a.get("value"):
            return a["value"]
    match = re.search(
        r'X-CSRFToken&quot;\s*:\s*&quot;([^&]+)&quot;|"X-CSRFToken"\s*:\s*"([^"]+)"', html
    )
    if match:
        return match.group(1) or match.group(2)
    return cookies.get("csrftoken", "")


def next_link(html: str) -> str | None:
    """The href of the list's "next page" link (rel=next, or a link labelled next/older)."""
    candidates = []
    for attr_text, text in A_RE.findall(html):
        a = attrs(attr_text)
        href = a.get("href")
        if not href:
            continue
        label = re.sub(r"<[^>]+>", "", text).strip().lower()
        if "next" in a.get("rel", "").split():
            return href
        if label.startswith(("next", "older", "more")) or label in {"→", "›", "»"}:
            candidates.append(href)
    return candidates[0] if candidates else None
