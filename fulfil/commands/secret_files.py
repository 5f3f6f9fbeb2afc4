"""Demo secrets kept on disk for `make run` (the ops token, the staff PIN): owner-only files, replaced atomically."""

from __future__ import annotations

import os
from pathlib import Path

from fulfil.errors import BadRequest


def read_secret(path: Path) -> str | None:
    """The secret kept in a file, or None when there is none (or it is not text)."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BadRequest(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError:
        return None  # not a token: replaced like any other invalid one
    return secret or None


def write_secret(path: Path, secret: str) -> None:
    """Replace the file atomically, readable by its owner only (mode 0600)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secret + "\n")
        os.chmod(tmp, 0o600)  # an older .tmp left behind keeps its mode through O_CREAT
        os.replace(tmp, path)
    except OSError as exc:
        raise BadRequest(f"cannot write {path}: {exc.strerror or exc}") from exc
