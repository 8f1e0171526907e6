"""The benchmark client: measures a running server against its floor.

Run through ``manage.py bench`` (``make bench`` starts everything around
it). It talks HTTP to the server under test, and reads the database only to
find its landmarks (the dataset row, hypothesis states before a move), never
inside a timed request.
"""

from __future__ import annotations

import math
import re
import secrets
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.urls import NoReverseMatch, reverse

from incidents.perf.client import Client, Response, csrf_token
from incidents.perf.report import load_average, machine_meta

TARGETS_MS = {"list": 25.0, "search": 30.0, "case": 40.0, "heavy": 250.0, "write": 15.0}
MAX_LIST_QUERIES = 5
MAX_FLOOR_RATIO = 2.5
MAX_WORKER_MIB = 80.0


class RouteMissing(Exception):
    """The page does not exist (yet) in this build."""


# -- what is measured ---------------------------------------------------------------


@dataclass
class Target:
    name: str
    group: str  # list, search, case, heavy, write, other
    user: str
    method: str = "GET"
    path: str | None = None
    data: Callable[[int], dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[int], None] | None = None
    # For a write: a number read from the database (untimed) that each request
    # that took effect raises by one, so a form error is not measured as a write.
    effect: Callable[[], int] | None = None
    # For a write: removes (untimed) what earlier series of it added, so that
    # every run writes into the case as generated, not one grown by past runs.
    cleanup: Callable[[], Any] | None = None
    missing: str = ""
    note: str = ""


@dataclass
class Result:
    name: str
    group: str
    user: str
    method: str
    path: str
    measured: bool
    note: str = ""
    statuses: list[int] = field(default_factory=list)
    median_ms: float | None = None
    p95_ms: float | None = None
    min_ms: float | None = None
    queries: list[int] = field(default_factory=list)
    bytes: int | None = None
    floor_median_ms: float | None = None
    floor_p95_ms: float | None = None
    floor_statements: int | None = None
    ratio: float | None = None
    target_ms: float | None = None
    met: dict[str, bool] = field(default_factory=dict)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def url_or_missing(name: str, *args: Any, query: str = "") -> str:
    try:
        return reverse(name, args=args) + query
    except NoReverseMatch:
        raise RouteMissing(name) from None


def first_route(names: list[str], *args: Any) -> str:
    for name in names:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    raise RouteMissing(" / ".join(names))


class Bench:
    def __init__(
        self,
        base_url: str,
        *,
        requests: int = 30,
        warmup: int = 3,
        log: Callable[[str], None] = print,
        gunicorn_pid: int | None = None,
        deep_hops: int = 40,
        budget: float = 90.0,
        only: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # Measure only the pages whose name holds one of these (comma-separated).
        self.only = [part.strip() for part in only.lower().split(",")]
        self.requests = requests
        self.warmup = warmup
        self.log = log
        self.gunicorn_pid = gunicorn_pid
        self.deep_hops = deep_hops
        self.budget = budget
        self.run_id = secrets.token_hex(4)

    # -- sessions --------------------------------------------------------------

    def login(self, username: str, password: str) -> Client:
        client = Client(self.base_url)
        try:
            login_url = reverse("login")
        except NoReverseMatch:
            login_url = "/accounts/login/"
        page = client.request("GET", login_url)
        token = csrf_token(page.body.decode("utf-8", "replace"), client.cookies)
        answer = client.request(
            "POST",
            login_url,
            {"username": username, "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": self.base_url + login_url},
        )
        if answer.status in (301, 302, 303) and "sessionid" in client.cookies:
            self.log(f"  signed in as {username} through the login form")
            return client
        self.log(
            f"  login form answered {answer.status} for {username}: "
            "opening a session directly in the session store"
        )
        client.cookies["sessionid"] = self._direct_session(username)
        return client

    def _direct_session(self, username: str) -> str:
        from importlib import import_module

        from django.conf import settings
        from django.contrib.auth import (
            BACKEND_SESSION_KEY,
            HASH_SESSION_KEY,
            SESSION_KEY,
            get_user_model,
        )

        user = get_user_model()._default_manager.get(username=username)
        store = import_module(settings.SESSION_ENGINE).SessionStore()
        store[SESSION_KEY] = str(user.pk)
        # The last backend reads the signed-in user (incidents.accounts.backends).
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        assert store.session_key
        return store.session_key

    # -- measuring ----------------------------------------------------------------

    def measure(self, client: Client, target: Target) -> Result:
        result = Result(
            target.name,
            target.group,
            target.user,
            target.method,
            target.path or "",
            measured=False,
            note=target.note,
            target_ms=TARGETS_MS.get(target.group),
        )
        if target.missing or not target.path:
            result.note = f"not measured: {target.missing or 'route missing'}"
            return result
        headers = dict(target.headers)
        times: list[float] = []
        sizes: list[int] = []
        counter = 0

        def one(extra: dict[str, str] | None = None) -> Response:
            nonlocal counter
            counter += 1
            if target.prepare:
                target.prepare(counter)
            data = target.data(counter) if target.data else None
            if target.method == "POST" and data is not None:
                data.setdefault("csrfmiddlewaretoken", self.csrf.get(target.user, ""))
            hdrs = dict(headers)
            if target.method == "POST":
                hdrs["X-CSRFToken"] = self.csrf.get(target.user, "")
            hdrs.update(extra or {})
            return client.request(target.method, target.path or "/", data, hdrs)

        # The floor: the same statements, captured from one request of the page and
        # replayed by a bare view. Page and floor requests alternate, so both see
        # the same machine (other processes come and go).
        key = f"{self.run_id}-{len(self.results)}"
        if target.cleanup:
            target.cleanup()
        effect_before = target.effect() if target.effect else 0
        one({"X-Bench-Capture": key})
        floor_client = Client(self.base_url)
        floor_client.cookies = dict(client.cookies)
        floor_path = f"/_bench/floor/{key}/"
        floor_times: list[float] = []
        floor_ok = True

        def floor() -> Response | None:
            nonlocal floor_ok
            if not floor_ok:
                return None
            resp = floor_client.request(
                target.method, floor_path, {} if target.method == "POST" else None
            )
            if resp.status != 200:
                result.note += f" floor answered {resp.status}"
                floor_ok = False
                return None
            match = re.match(rb"(\d+) statements", resp.body)
            if match:
                result.floor_statements = int(match.group(1))
            return resp

        started = time.monotonic()
        for _ in range(self.warmup):
            one()
            floor()
            # A page of several seconds is warm after one request.
            if time.monotonic() - started > min(self.budget, 5.0):
                break
        started = time.monotonic()
        for n in range(self.requests):
            if n >= 3 and time.monotonic() - started > self.budget:
                result.note = (
                    f"stopped after {n} requests (over the {self.budget:g} s budget) " + result.note
                ).strip()
                break
            resp = one()
            result.statuses.append(resp.status)
            times.append(resp.seconds * 1000)
            sizes.append(len(resp.body))
            if "x-query-count" in resp.headers:
                result.queries.append(int(resp.headers["x-query-count"]))
            floor_resp = floor()
            if floor_resp is not None:
                floor_times.append(floor_resp.seconds * 1000)
        result.statuses = sorted(set(result.statuses))
        result.queries = sorted(set(result.queries))
        result.measured = True
        result.median_ms = round(statistics.median(times), 2)
        result.p95_ms = round(percentile(times, 95), 2)
        result.min_ms = round(min(times), 2)
        result.bytes = int(statistics.median(sizes))
        bad = [s for s in result.statuses if s >= 300]
        if bad:
            result.note = f"HTTP {', '.join(map(str, bad))}: " + (result.note or "check the route")
        if target.effect:
            took = target.effect() - effect_before
            if took < counter:
                bad.append(0)
                result.note = f"only {took} of {counter} writes took effect " + result.note
        if floor_times:
            result.floor_median_ms = round(statistics.median(floor_times), 2)
            result.floor_p95_ms = round(percentile(floor_times, 95), 2)
            result.ratio = round(result.median_ms / result.floor_median_ms, 2)
        ok = not bad
        if result.target_ms is not None:
            result.met["time"] = ok and result.median_ms <= result.target_ms
        if result.ratio is not None:
            result.met["floor"] = ok and result.ratio <= MAX_FLOOR_RATIO
        if target.group == "list" and result.queries:
            result.met["queries"] = max(result.queries) <= MAX_LIST_QUERIES
        return result

    # -- memory and throughput ---------------------------------------------------------

    def workers(self) -> list[Path]:
        """The /proc entries of the gunicorn master's children (its workers)."""
        if not self.gunicorn_pid:
            return []
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.gunicorn_pid:
                    found.append(entry)
            except (OSError, ValueError, IndexError):
                continue
        return found

    def worker_memory(self) -> dict[str, list[float]]:
        """Each worker's RSS (all resident pages, shared ones included), PSS
        (shared pages divided among the processes sharing them) and highest RSS
        so far (VmHWM: a sign-in's password hash included), in MiB."""
        memory: dict[str, list[float]] = {"rss": [], "pss": [], "hwm": []}
        for entry in self.workers():
            for key, file, label in (
                ("rss", "status", "VmRSS:"),
                ("pss", "smaps_rollup", "Pss:"),
                ("hwm", "status", "VmHWM:"),
            ):
                try:
                    for line in (entry / file).read_text().splitlines():
                        if line.startswith(label):
                            memory[key].append(round(int(line.split()[1]) / 1024, 1))
                            break
                except (OSError, ValueError, IndexError):
                    continue
        return memory

    def wrk(self, client: Client, path: str, seconds: int, connections: int) -> dict[str, Any]:
        exe = shutil.which("wrk")
        if seconds <= 0:
            return {"note": "not measured: --wrk-seconds 0"}
        if not exe:
            return {"note": "not measured: wrk is not installed"}
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        cmd = [
            exe,
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Cookie: {cookie}",
            self.base_url + path,
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
        found: dict[str, Any] = {"path": path, "seconds": seconds, "connections": connections}
        if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
            found["requests_per_second"] = float(m.group(1))
        for pct in ("50", "90", "99"):
            if m := re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
                value = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
                found[f"p{pct}_ms"] = round(value, 2)
        if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
            found["non_2xx"] = int(m.group(1))
        found["raw"] = out.strip().splitlines()[-8:]
        return found

    # -- the whole run --------------------------------------------------------------

    results: list[Result]
    csrf: dict[str, str]

    def chosen(self, targets: list[Target]) -> list[Target]:
        """The targets to measure: all, or those whose name holds a part of ``--only``."""
        return [t for t in targets if any(part in t.name.lower() for part in self.only)]

    def run(self, dataset: Any, wrk_seconds: int = 10, wrk_connections: int = 4) -> dict[str, Any]:
        from incidents.perf import pages

        started = time.monotonic()
        load_at_start = load_average()
        self.results = []
        self.csrf = {}
        mem_before = self.worker_memory()
        clients = {
            "member": self.login(dataset.member_username, pages.PASSWORD),
            "staff": self.login(dataset.staff_username, pages.PASSWORD),
        }
        for user, client in clients.items():
            targets = pages.targets(self, client, user, dataset)
            for target in self.chosen(targets):
                self.log(f"  {user:<6} {target.name} ...")
                result = self.measure(client, target)
                self.results.append(result)
                self.log("         " + summary(result))
        mem_after = self.worker_memory()
        throughput = []
        for user in ("member", "staff"):
            try:
                path = url_or_missing("cases:list")
            except RouteMissing:
                throughput.append({"user": user, "note": "not measured: route missing"})
                continue
            self.log(f"  wrk on the case list as {user} ({wrk_seconds}s) ...")
            found = self.wrk(clients[user], path, wrk_seconds, wrk_connections)
            found["user"] = user
            throughput.append(found)
        mem_final = self.worker_memory()
        peak = max([*mem_after["rss"], *mem_final["rss"], 0.0])
        peak_pss = max([*mem_after["pss"], *mem_final["pss"], 0.0])
        return {
            "meta": {**machine_meta(dataset), "load_average": load_at_start},
            "pages": [asdict(r) for r in self.results],
            "throughput": throughput,
            "memory": {
                "workers_mib_before": mem_before["rss"],
                "workers_mib_after_pages": mem_after["rss"],
                "workers_mib_after_wrk": mem_final["rss"],
                "peak_mib": peak,
                "workers_pss_mib_before": mem_before["pss"],
                "workers_pss_mib_after_pages": mem_after["pss"],
                "workers_pss_mib_after_wrk": mem_final["pss"],
                "peak_pss_mib": peak_pss,
                "workers_hwm_mib": mem_final["hwm"],
                "target_mib": MAX_WORKER_MIB,
                "met": bool(peak) and peak <= MAX_WORKER_MIB,
            },
            "seconds": round(time.monotonic() - started, 1),
            "load_average_at_end": load_average(),
        }


def summary(r: Result) -> str:
    if not r.measured:
        return r.note
    q = "/".join(map(str, r.queries)) or "?"
    floor = f"floor {r.floor_median_ms} ms, ×{r.ratio}" if r.ratio is not None else "no floor"
    return f"median {r.median_ms} ms, p95 {r.p95_ms} ms, {q} queries, {r.bytes} B, {floor} {r.note}"
