"""Where benchmark results go: machine-readable JSON plus a regenerated section of BENCHMARKS.md."""

from __future__ import annotations

import json
import os
import platform
import re
import time
from pathlib import Path

DOCS = Path("docs")


def machine() -> dict[str, object]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": memory_gib,
            "python": platform.python_version(), "platform": platform.platform()}


def write_results(topic: str, results: dict, markdown: str, command: str, docs: Path = DOCS,
                  page: str = "BENCHMARKS.md", part: str | None = None) -> Path:
    """Write docs/results/<topic>.json and replace the <topic> section of docs/<page>.

    A ``part`` (a second measurement of the same topic, e.g. another world) goes under that key
    of the topic's JSON and into a section of its own, <topic>_<part>; a later write of the
    whole topic carries its parts over."""
    stamped = {**results, "machine": machine(), "command": command,
               "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    out = docs / "results" / f"{topic}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(out.read_text()) if out.exists() else {}
    parts = list(existing.get("parts", []))
    if part is None:
        payload = {**stamped, **{k: existing[k] for k in parts if k in existing}}
    else:
        payload = {**existing, part: stamped}
        parts = list(dict.fromkeys([*parts, part]))
        topic = f"{topic}_{part}"
    if parts:
        payload["parts"] = parts
    out.write_text(json.dumps(payload, indent=2) + "\n")
    m = stamped["machine"]
    section = (f"<!-- bench:{topic}:start -->\n{markdown.strip()}\n\n"
               f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
               f"Python {m['python']}. "
               f"Command: `{command}` ({stamped['measured_at']}).\n<!-- bench:{topic}:end -->")
    bench_md = docs / page
    title = "Benchmarks" if page == "BENCHMARKS.md" else "Results"
    text = bench_md.read_text() if bench_md.exists() else f"# {title}\n"
    pattern = re.compile(rf"<!-- bench:{topic}:start -->.*?<!-- bench:{topic}:end -->", re.S)
    text = (pattern.sub(lambda _: section, text) if pattern.search(text)
            else f"{text.rstrip()}\n\n{section}\n")
    bench_md.write_text(text)
    return out
