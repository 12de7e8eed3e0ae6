"""One output folder per run: tidy tables, events, summary and a manifest, written atomically.

Every file is written to a temporary name in the same folder, flushed to disk and renamed over
the target, so a run killed during a write leaves either the old complete file or the new one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from agents.errors import BadInputError

PACKAGES = ("mesa", "numpy", "pandas", "pyarrow", "ollama", "pydantic", "xllamacpp", "solara")
MANIFEST = "manifest.json"
CALL_LOG = "calls.jsonl"  # every LLM call of the run, one JSON line each
MANIFEST_KIND = "commons-lab run"  # marks a manifest as ours: only such folders are ever replaced
COMPLETED = "completed"  # the manifest status of a run that reached its end
RUNNING, INTERRUPTED = "running", "interrupted"
# Every file a run writes: its tables (as Parquet or CSV), the call log, summary and manifest.
# Replacing a run removes these and nothing else a user may have put beside them.
RUN_TABLES = ("rounds", "agents", "events", "harvests", "utterances", "discussions", "memories")
RUN_FILES = (*(f"{t}.{ext}" for t in RUN_TABLES for ext in ("parquet", "csv")),
             CALL_LOG, "summary.json", MANIFEST)


class OutputExistsError(BadInputError, FileExistsError):
    """The output folder already holds a run and would be overwritten."""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """Valid JSON always: a NaN or infinite number (an empty run's mean) is written as null."""
    text = json.dumps(_finite(obj), indent=2, default=_jsonable, allow_nan=False)
    atomic_write_bytes(path, text.encode("utf-8"))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):  # numpy scalars
        return _finite(obj.item())
    return obj


def atomic_write_table(path_stem: Path, df: pd.DataFrame, fmt: str) -> list[Path]:
    """Write ``df`` as Parquet and/or CSV next to ``path_stem`` (no suffix)."""
    written = []
    if fmt in ("parquet", "both"):
        path = path_stem.with_suffix(".parquet")
        atomic_write_bytes(path, df.to_parquet(index=False))
        written.append(path)
    if fmt in ("csv", "both"):
        path = path_stem.with_suffix(".csv")
        atomic_write_bytes(path, df.to_csv(index=False).encode("utf-8"))
        written.append(path)
    return written


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def read_manifest(run_dir: str | Path) -> dict | None:
    """The manifest of the run in ``run_dir``, or None if there is none or it is unreadable.

    A run whose manifest still says "running" although the process that wrote it is gone (it
    was killed) is reported "interrupted": the file is left as it is, the reader is told the truth.
    """
    try:
        data = json.loads((Path(run_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("status") == RUNNING and not writer_alive(data.get("writer")):
        data = {**data, "status": INTERRUPTED, "stale": True}
    return data


def is_run_manifest(manifest: dict | None) -> bool:
    """True for a manifest a commons-lab run wrote (older ones lack the kind but have its shape)."""
    if not isinstance(manifest, dict):
        return False
    if manifest.get("kind") == MANIFEST_KIND:
        return True
    return (manifest.get("kind") is None and isinstance(manifest.get("config"), dict)
            and {"name", "scenario", "seed", "status", "started"} <= set(manifest))


def this_writer() -> dict:
    """Who writes a manifest: host, process id and the process's start time (a reused pid has
    another start time)."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": _process_start(os.getpid())}


def writer_alive(writer: Any) -> bool:
    """False only when the writer is known to be gone: same host, and no process with its id
    and start time. A manifest from another host (a cluster worker) is taken at its word."""
    if not isinstance(writer, dict) or writer.get("host") != socket.gethostname():
        return True
    pid = writer.get("pid")
    if not isinstance(pid, int):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    start = writer.get("start")
    return start is None or _process_start(pid) in (None, start)


def _process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[19])


@dataclass(frozen=True)
class RunContext:
    """Where a sweep's run folders live, and the command that started them (for the manifest)."""

    root: str
    sweep: str
    command: tuple[str, ...]

    def run_dir(self, run_id: str) -> Path:
        return Path(self.root) / "runs" / run_id

    def lock_path(self, run_id: str) -> Path:
        return Path(self.root) / ".locks" / f"{run_id}.lock"


class RunFolder:
    """The folder of one run. Refuses to reuse a folder that holds another run."""

    def __init__(self, path: str | Path, *, resume: bool = False, overwrite: bool = False):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise OutputExistsError(f"output folder {self.path} is a file; choose another --out")
        existing = self.read_manifest()
        if existing is not None and not is_run_manifest(existing):
            raise OutputExistsError(
                f"output folder {self.path} holds a manifest.json that no commons-lab run wrote; "
                "nothing there is replaced or resumed: choose another --out"
            )
        if existing is not None and not (resume or overwrite):
            raise OutputExistsError(
                f"output folder {self.path} already holds a run (status {existing.get('status')}); "
                "pass --resume to continue it, --overwrite to replace it, or choose another --out"
            )
        if existing is None and self.path.exists() and any(self.path.iterdir()) and not overwrite:
            raise OutputExistsError(
                f"output folder {self.path} exists and is not empty; choose another --out"
            )
        self.previous = existing
        self.overwrite = overwrite
        # Fail before any work if the folder cannot be created or written; create it later,
        # once the run is known to start (no half-made folder for a run that never began).
        check_writable(self.path)

    def create(self) -> None:
        """Make the folder (idempotent); an overwrite first removes the previous run's files."""
        if self.overwrite and self.previous is not None:
            self._clear()
            self.previous = None
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            raise OutputExistsError(f"cannot write to output folder {self.path}: {err.strerror}") from None

    def _clear(self) -> None:
        """Remove the previous run's files, so nothing of it mixes in: only the files a run
        writes, never anything else in the folder."""
        for name in RUN_FILES:
            (self.path / name).unlink(missing_ok=True)

    def file(self, name: str) -> Path:
        return self.path / name

    def read_manifest(self) -> dict | None:
        return read_manifest(self.path)

    def write_manifest(self, manifest: dict) -> None:
        atomic_write_json(self.path / MANIFEST, manifest)

    def write_tables(self, tables: dict[str, pd.DataFrame], fmt: str) -> list[str]:
        written = []
        for name, df in tables.items():
            written += [p.name for p in atomic_write_table(self.path / name, df, fmt)]
        return written

    def finish(self, manifest: dict, status: str, model: Any, fmt: str,
               error: str | None = None) -> dict | None:
        """A run's last write, whatever its status: the model's tables, its summary (when
        completed) and the manifest with the status. Returns the summary.

        ``model`` is None when the run failed before its model was built: only the manifest.
        """
        with signals_deferred():
            return self._finish(manifest, status, model, fmt, error)

    def _finish(self, manifest: dict, status: str, model: Any, fmt: str,
                error: str | None) -> dict | None:
        summary = None
        if model is not None:
            written = self.write_tables(model.tables(), fmt)
            summary = model.summary()
            if status == COMPLETED:
                atomic_write_json(self.file("summary.json"), summary)
            manifest.update(status=status, finished=now(), files=written, summary=summary)
        else:
            manifest.update(status=status, finished=now())
        if error:
            manifest["error"] = error
        self.write_manifest(manifest)
        return summary


def check_writable(path: Path) -> None:
    """OutputExistsError unless ``path`` (a folder, perhaps not there yet) can be made and
    written: a file is created and removed in its nearest existing ancestor, which also catches
    read-only mounts and pseudo file systems such as /proc."""
    ancestor = Path(path)
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputExistsError(f"cannot write to output folder {path}: {ancestor} is a file")
    try:
        with tempfile.TemporaryFile(dir=ancestor, prefix=".write-test"):
            pass
    except OSError as err:
        raise OutputExistsError(f"cannot write to output folder {path}: {ancestor} is not "
                                f"writable ({err.strerror})") from None


@contextlib.contextmanager
def signals_deferred():
    """Hold Ctrl-C and SIGTERM until the block ends: the last write of a run is never cut off
    half-way (the signal then takes effect, with everything on disk)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def new_manifest(config, command: list[str] | None = None) -> dict:
    return {
        "kind": MANIFEST_KIND,
        "writer": this_writer(),
        "name": config.name,
        "scenario": config.scenario,
        "seed": config.seed,
        "status": "running",
        "started": now(),
        "finished": None,
        "command": command if command is not None else sys.argv,
        "git_commit": git_commit(),
        "versions": package_versions(),
        "config": config.public_dict(),
    }
