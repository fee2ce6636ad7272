"""Every plot the project writes starts and ends the same way: pyplot on the file-only Agg
backend (no display on a worker or CI machine), and the figure laid out, saved where its
directory may not exist yet, and closed (an open figure keeps its memory)."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """matplotlib.pyplot on the Agg backend; imported here, when a plot is drawn, so that
    nothing that only serves requests pays for matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path, dpi: int = 110) -> Path:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path
