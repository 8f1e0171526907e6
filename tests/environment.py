"""Loaded first by pytest (``-p tests.environment`` in pyproject): test-run settings.

Settings are read from the environment when Django starts, so the defaults
for a test run are set here, before pytest-django imports them.
"""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "inquest-test-secret-key-not-for-production")
# Playwright's sync API runs an event loop in the test thread; Django's ORM
# calls from live-server tests are safe there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Every compiled read is checked against the SQL the ORM writes for the same
# arguments (incidents/compiled.py): a read compiled on too little fails here.
os.environ.setdefault("INQUEST_CHECK_COMPILED", "true")
# Benchmark mode's app (incidents/perf: the data generator and its Dataset table) is
# installed for the generator's tests and the query-count guards; its floor views and
# X-Query-Count middleware stay off unless a test turns them on (tests/guards/test_perf_queries.py).
# Production never sets INQUEST_BENCH (tests/guards/test_bench_mode.py).
os.environ.setdefault("INQUEST_BENCH", "true")
os.environ.setdefault("INQUEST_BENCH_FLOOR", "false")
