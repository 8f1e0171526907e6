"""The benchmark's report: the machine it ran on, a Markdown table and the JSON.

``manage.py bench`` writes both to ``--out`` (``bench-<size>-<time>`` and
``latest-<size>``); docs/performance.md keeps the L table.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine skews the times."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return ""


def machine_meta(dataset: Any) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except OSError:
        commit = ""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        db_version = cursor.fetchone()[0]
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "database": db_version,
        "commit": commit,
        "load_average": load_average(),
        "dataset": {
            "size": dataset.size,
            "cases": dataset.cases,
            "evidence": dataset.evidence,
            "timeline": dataset.timeline,
            "normal_reference": dataset.normal_reference,
            "heavy_reference": dataset.heavy_reference,
            "generated_in_seconds": dataset.seconds,
        },
    }


def fmt(value: Any, suffix: str = "") -> str:
    return "–" if value is None else f"{value}{suffix}"


def markdown(report: dict[str, Any]) -> str:
    meta = report["meta"]
    ds = meta["dataset"]
    lines = [
        f"# Inquest benchmark, size {ds['size']}",
        "",
        f"{meta['date']} on {meta['host']} ({meta['cpu']}, {meta['cpus']} CPUs), "
        f"{meta['database'].split(' on ')[0]}, commit {meta['commit'] or '?'}, "
        f"load average {meta.get('load_average', '?')} at the start and "
        f"{report.get('load_average_at_end', '?')} at the end. "
        f"{ds['cases']:,} cases, {ds['evidence']:,} evidence items, "
        f"{ds['timeline']:,} timeline entries (generated in {ds['generated_in_seconds']}s).",
        "",
        "| user | page | median ms | p95 ms | queries | bytes | floor ms | ×floor | target | met |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in report["pages"]:
        if not r["measured"]:
            lines.append(f"| {r['user']} | {r['name']} | {r['note']} | | | | | | | |")
            continue
        target = f"≤ {r['target_ms']:g} ms" if r["target_ms"] else ""
        met = ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in r["met"].items())
        queries = "/".join(map(str, r["queries"])) or "?"
        name = r["name"] + (f" ({r['note']})" if r["note"] else "")
        lines.append(
            f"| {r['user']} | {name} | {fmt(r['median_ms'])} | {fmt(r['p95_ms'])} | {queries} "
            f"| {fmt(r['bytes'])} | {fmt(r['floor_median_ms'])} | {fmt(r['ratio'])} "
            f"| {target} | {met} |"
        )
    lines += ["", "Throughput (wrk on the case list):", ""]
    for t in report["throughput"]:
        if "requests_per_second" in t:
            lines.append(
                f"- {t['user']}: {t['requests_per_second']:.0f} requests/s with "
                f"{t['connections']} connections for {t['seconds']}s "
                f"(p50 {fmt(t.get('p50_ms'))} ms, p99 {fmt(t.get('p99_ms'))} ms"
                + (f", {t['non_2xx']} non-2xx" if t.get("non_2xx") else "")
                + ")"
            )
        else:
            lines.append(f"- {t.get('user')}: {t.get('note', 'no result')}")
    mem = report["memory"]
    lines += [
        "",
        f"Worker RSS (MiB): before {mem['workers_mib_before']}, after the pages "
        f"{mem['workers_mib_after_pages']}, after wrk {mem['workers_mib_after_wrk']}; "
        f"peak {mem['peak_mib']} (target ≤ {mem['target_mib']:g}: "
        f"{'met' if mem['met'] else 'NOT met'}).",
        f"Worker PSS (MiB, shared pages divided among the workers): before "
        f"{mem.get('workers_pss_mib_before')}, after the pages "
        f"{mem.get('workers_pss_mib_after_pages')}, after wrk "
        f"{mem.get('workers_pss_mib_after_wrk')}; peak {mem.get('peak_pss_mib')}.",
        f"Highest RSS each worker reached (VmHWM, MiB): {mem.get('workers_hwm_mib')}; a"
        " sign-in hashes its password with Argon2 (Django's default, 100 MiB), freed at"
        " once.",
        "",
    ]
    return "\n".join(lines)


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    size = report["meta"]["dataset"]["size"]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    md_path = out_dir / f"bench-{size}-{stamp}.md"
    json_path = out_dir / f"bench-{size}-{stamp}.json"
    md_path.write_text(markdown(report))
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (out_dir / f"latest-{size}.md").write_text(markdown(report))
    (out_dir / f"latest-{size}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return md_path, json_path
