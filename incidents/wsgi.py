"""The WSGI application, for gunicorn.

With ``gunicorn --preload`` this module is imported once in the master
process, before the workers fork: the URLconf (and with it every view
module) is loaded here, then ``gc.freeze()`` moves everything imported so far
out of the garbage collector's reach, so the workers never write to those
objects' GC headers and keep sharing their memory pages with the master
(copy-on-write) instead of each holding a private copy (docs/deployment.md).
Without ``--preload`` it is harmless: each worker does the same for itself.

The youngest generation is collected after 5,000 new objects instead of
Python's 700. A request's own objects die with it (the case page's parts
are plain values, none refers back to the page), so a larger first generation lets them go by
reference counting before a collection ever looks at them: the collector's
share of a case page's CPU went from about 0.3 to 0.1 ms.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incidents.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 (imports every view now, not on the first request)
gc.freeze()
gc.set_threshold(5_000, 10, 10)
