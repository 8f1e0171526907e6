"""The static files' storage: WhiteNoise's, with each file's URL looked up once.

Every page names the same few static files (``base.html``: the stylesheet,
htmx, the site's script; the case page two more), and each ``{% static %}``
asked the manifest again: splitting and joining the name, looking up its
hashed name, joining it to ``STATIC_URL``, about 13 µs each, a fifth of the
site frame's time. The manifest is read once when the storage is made and
does not change while the process runs (``collectstatic`` writes a new one
for the next start), so neither do the URLs. Under DEBUG, or asked to
``force`` the hashed name, it answers as WhiteNoise does.
"""

from __future__ import annotations

from django.conf import settings
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name: str, force: bool = False) -> str:
        if force or settings.DEBUG:
            return super().url(name, force)
        try:
            return self._urls[name]
        except KeyError:
            url = self._urls[name] = super().url(name)
            return url
