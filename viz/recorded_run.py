"""Opening a recorded run folder for the page: its config, a client that replays its call log,
and an uploaded folder (a .zip) unpacked where the page can read it.

A replay asks no server: every LLM answer comes from the folder's ``calls.jsonl``, so a class
sees a capable model's run at once, on any machine.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

from model.config import ConfigError, RunConfig, build
from model.run_folder import CALL_LOG, MANIFEST, is_run_manifest, read_manifest

MAX_UPLOAD_BYTES = 200 * 2**20  # a 50-round LLM run's folder is a few MB


def _manifest(folder: Path) -> dict:
    if not (folder / MANIFEST).is_file():
        raise ConfigError(f"{folder} is not a run folder: it has no {MANIFEST}")
    manifest = read_manifest(folder)
    if not is_run_manifest(manifest):
        raise ConfigError(f"{folder / MANIFEST} is not the manifest of a commons-lab run")
    return manifest


def rounds_recorded(folder: Path, manifest: dict) -> int | None:
    """Rounds the folder's tables hold (an interrupted run holds fewer than its cap)."""
    summary = manifest.get("summary") or {}
    if isinstance(summary.get("rounds_run"), int):
        return summary["rounds_run"]
    for name in ("rounds.parquet", "rounds.csv"):
        path = folder / name
        if path.is_file():
            table = pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path)
            return int(table["Round"].max()) if len(table) else 0
    return None


def recorded_config(folder: str | Path) -> RunConfig:
    """The folder's resolved config, its rounds capped at those recorded, and for LLM runs and
    runs with human villagers the strict replay of its call log (no server, nobody asked)."""
    folder = Path(folder).expanduser()
    manifest = _manifest(folder)
    config = build(RunConfig, manifest["config"])
    done = rounds_recorded(folder, manifest)
    changes: dict = {}
    if done is not None and 0 < done < config.rounds:
        changes["rounds"] = done
    if config.scenario == "govsim" and done is not None and 0 < done < config.govsim.months:
        changes["govsim.months"] = done
    if config.scenario == "govsim" or config.policy == "llm" or config.humans:
        log = folder / CALL_LOG
        if not log.is_file():
            raise ConfigError(f"{folder} has no {CALL_LOG}: an LLM run or one with human "
                              "villagers replays from its calls")
        changes.update({"llm.backend": "replay", "llm.replay_log": str(log)})
    return config.replace(**changes) if changes else config


def unpack_upload(name: str, data: bytes, into: Path | None = None) -> Path:
    """The run folder inside an uploaded .zip, unpacked into a new temporary folder."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ConfigError(f"{name} is larger than {MAX_UPLOAD_BYTES // 2**20} MB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ConfigError(f"{name} is not a .zip of a run folder") from None
    manifests = [n for n in archive.namelist() if Path(n).name == MANIFEST]
    if not manifests:
        raise ConfigError(f"{name} holds no {MANIFEST}: zip a run folder")
    target = Path(into or tempfile.mkdtemp(prefix="commons-lab-upload-"))
    root = target.resolve()
    for member in archive.namelist():
        # Never write outside the target folder, whatever names the archive holds.
        if not (root / member).resolve().is_relative_to(root):
            raise ConfigError(f"{name} holds a path outside its folder: {member}")
    archive.extractall(target)
    return target / Path(min(manifests, key=len)).parent
