"""The WSGI application, for gunicorn.

With ``gunicorn --preload`` this module is imported once in the master
process, before the workers fork: the URLconf (and with it every view
module) is loaded here, then ``gc.freeze()`` moves everything imported so far
out of the garbage collector's reach, so the workers never write to those
objects' GC headers and keep sharing their memory pages with the master
(copy-on-write) instead of each holding a private copy (docs/deployment.md).
Without ``--preload`` it is harmless: each worker does the same for itself.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incidents.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 (imports every view now, not on the first request)
gc.freeze()
