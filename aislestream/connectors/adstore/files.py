"""Creative image files: safe names, staged writes, and a check that nothing lands outside.

A request id comes from a Kafka message, so it may be anything: ``../../../x``, an absolute
path, ``a/b`` into a folder that does not exist, NUL, ``.``/``..``, more than 255 bytes, or a
lone surrogate. None of that may reach the file system. A creative file is therefore named by
the SHA-256 of its id (the id itself stays in the database row) and fanned out into a
two-character subfolder, so one folder never holds millions of entries:

    <image_dir>/3f/3f9c...e1.png

A file is first written under a temporary name beside its final one and renamed into place
only once its row is committed (``os.replace`` is atomic within one file system), so a refused
or failed insert leaves no file behind and a reader never sees half a PNG.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aislestream.errors import StoreError, StoreUnavailable

# Errors that say the disk, not the request, is the problem: the caller waits and retries.
_TRANSIENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EAGAIN, errno.ESTALE, errno.EROFS}


def show_id(request_id: str, limit: int = 80) -> str:
    """An id fit for an error message: quoted, escaped, and cut so a huge id cannot flood logs."""
    text = repr(request_id)
    return text if len(text) <= limit else f"{text[:limit]}...({len(request_id)} chars)"


def creative_digest(request_id: str) -> str:
    """SHA-256 hex of the id's UTF-8 bytes. ``surrogatepass`` lets a lone surrogate through
    instead of raising, so every str has a name (distinct ids keep distinct bytes)."""
    return hashlib.sha256(request_id.encode("utf-8", "surrogatepass")).hexdigest()


def creative_path(directory: Path, request_id: str) -> Path:
    """Where the creative of ``request_id`` lives (the folder is not created here)."""
    digest = creative_digest(request_id)
    return directory / digest[:2] / f"{digest}.png"


def _check_inside(directory: Path, folder: Path, request_id: str) -> None:
    """Both sides resolved, so a symlinked fan-out folder cannot lead the write elsewhere."""
    root, target = directory.resolve(), folder.resolve()
    if not target.is_relative_to(root):
        raise StoreError(f"image for request {show_id(request_id)} would be written to {target}, "
                         f"outside the image directory {root}")


def _os_error(action: str, request_id: str, exc: OSError) -> StoreError | StoreUnavailable:
    """A full or failing disk is retryable; anything else (permissions, a bad folder) is not."""
    message = f"cannot {action} the image of request {show_id(request_id)}: {exc}"
    return StoreUnavailable(message) if exc.errno in _TRANSIENT_ERRNOS else StoreError(message)


@dataclass
class StagedPng:
    """A PNG written under a temporary name; ``commit`` renames it into place, ``discard``
    removes it if it was not committed (safe to call always, e.g. in ``finally``)."""

    temporary: Path
    final: Path
    request_id: str
    committed: bool = False

    def commit(self) -> None:
        try:
            os.replace(self.temporary, self.final)
        except OSError as exc:
            raise _os_error("move into place", self.request_id, exc) from exc
        self.committed = True

    def discard(self) -> None:
        if not self.committed:
            self.temporary.unlink(missing_ok=True)


def stage_png(image: np.ndarray, directory: Path, request_id: str) -> StagedPng:
    """Encode ``image`` into a temporary file in the folder of its final name, flushed to disk.

    The temporary name starts with a dot and ends in ``.tmp``; only a hard kill between this
    and ``commit`` leaves one behind, and such a file is always safe to delete.
    """
    from PIL import Image

    final = creative_path(directory, request_id)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error("create the folder for", request_id, exc) from exc
    _check_inside(directory, final.parent, request_id)
    try:
        picture = Image.fromarray(image)
    except (TypeError, ValueError, AttributeError) as exc:  # wrong dtype or shape
        message = f"cannot encode the image of request {show_id(request_id)}: {exc}"
        raise StoreError(message) from exc
    temporary = final.parent / f".{final.stem}.{secrets.token_hex(4)}.tmp"
    try:
        # O_EXCL: never write through a file or symlink that is already there; mode 0o666 so
        # the umask, not mkstemp's 0o600, decides who may read the served image.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise _os_error("write", request_id, exc) from exc
    staged = StagedPng(temporary, final, request_id)
    try:
        with os.fdopen(fd, "wb") as out:
            picture.save(out, format="PNG")
            out.flush()
            os.fsync(out.fileno())  # the row committed next must not point at an empty file
    except OSError as exc:
        staged.discard()
        raise _os_error("write", request_id, exc) from exc
    except BaseException:
        staged.discard()
        raise
    return staged


def write_png(image: np.ndarray, directory: Path, request_id: str) -> str:
    """Write the creative of ``request_id`` now (staged, then renamed); returns its path.

    The store does not call this: it stages, commits the row, then renames. This is for
    writing a file without a row (tools, tests)."""
    staged = stage_png(image, directory, request_id)
    try:
        staged.commit()
    finally:
        staged.discard()
    return str(staged.final)


def remove_png(directory: Path, request_id: str) -> None:
    """Delete the creative of ``request_id`` if there is one (a row re-saved without image)."""
    creative_path(directory, request_id).unlink(missing_ok=True)
