"""Regenerate deploy/constraints.txt, the exact versions both images install for the slim worker's
dependencies (pyproject's ranges alone would let two builds of one commit differ).

Run from the repository root, with PyPI reachable, after changing a dependency in pyproject.toml:

    .venv/bin/python deploy/lock.py

pip resolves ``.[elasticsearch,postgres]`` for this interpreter (CPython 3.11 on Linux, as the
images are) without installing anything. The ML image's extra packages (torch and the `ml` extra)
follow pyproject's ranges on top of these pins; torch itself is pinned there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

EXTRAS = "elasticsearch,postgres"
OUT = Path(__file__).with_name("constraints.txt")
HEADER = f"""\
# The slim worker's dependencies, exactly: `.[{EXTRAS}]` resolved by deploy/lock.py.
# Both images install these (deploy/Dockerfile, deploy/Dockerfile.ml); regenerate, do not edit:
#   .venv/bin/python deploy/lock.py
"""


def resolve() -> list[str]:
    """``name==version`` of every package pip would install for the slim extras, sorted."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                        "--quiet", "--report", str(report), f".[{EXTRAS}]"], check=True)
        installs = json.loads(report.read_text())["install"]
    pins = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in installs}
    pins.pop("aislestream", None)
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


if __name__ == "__main__":
    OUT.write_text(HEADER + "\n".join(resolve()) + "\n")
    print(f"wrote {OUT}")
