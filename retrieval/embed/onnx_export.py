"""Build time: a sentence-transformers model folder -> an ONNX int8 export with checksums.

Imports torch and transformers lazily, so the serving side (``onnx_int8``) never pays for them.
The folder holds ``model.onnx``, the tokenizer files and ``onnx_model.json`` (pooling, max length,
versions, and a blake2b checksum of every file, checked before each load).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path


log = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
META_FILE = "onnx_model.json"
# Bump when the export recipe changes, so older folders are rebuilt, not trusted.
EXPORT_FORMAT = 1
OPSET = 17

# Quantisation recipe, chosen by measurement on MiniLM (see benchmarks/embedding_speed.py):
# signed int8 weights per output channel keep cosine to fp32 >= 0.99, while per-tensor
# weights drop it to ~0.94 and uint8 weights run at half the speed. Only MatMul is
# quantised: the word-embedding Gather stays fp32 (+35 MB on disk) for accuracy, at no
# speed cost.
QUANT_OPTIONS = {"weight_type": "QInt8", "per_channel": True, "op_types": ["MatMul"]}

# Pooling modes of sentence_transformers.models.Pooling, in the order it concatenates them.
_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len",
}
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
)


class OnnxExportError(RuntimeError):
    """The model cannot be exported faithfully; the message says why."""


# --------------------------------------------------------------------------- export


def _resolve_model_dir(model: str | Path) -> Path:
    """A local folder for ``model``: the folder itself, or the Hugging Face cache copy.

    Hub names go through ``snapshot_download``, which honours ``HF_HUB_OFFLINE=1``
    (then only an already-cached copy is used, nothing is downloaded).
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(str(model)))


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _read_st_layout(model_dir: Path) -> dict:
    """Transformer folder, pooling modes, normalisation and max length from the ST config files.

    Refuses module types it cannot reproduce (Dense, etc.) rather than exporting a model
    whose embeddings would silently differ from sentence-transformers.
    """
    modules = json.loads((model_dir / "modules.json").read_text()) if (model_dir / "modules.json").is_file() else None
    if modules is None:  # plain transformers folder: ST's default is mean pooling, no Normalize
        modules = [
            {"type": "sentence_transformers.models.Transformer", "path": ""},
            {"type": "sentence_transformers.models.Pooling", "path": ""},
        ]
    transformer_dir, pooling_cfg, normalize = None, None, False
    for mod in modules:
        kind = mod["type"].rsplit(".", 1)[-1]
        sub = model_dir / mod.get("path", "")
        if kind == "Transformer":
            transformer_dir = sub
        elif kind == "Pooling":
            pooling_cfg = _read_json(sub / "config.json") if mod.get("path") else {}
        elif kind == "Normalize":
            normalize = True
        else:
            raise OnnxExportError(f"{model_dir}: module {mod['type']} is not supported by the ONNX backend")
    if transformer_dir is None or pooling_cfg is None:
        raise OnnxExportError(f"{model_dir}: modules.json needs a Transformer and a Pooling module")

    pooling = [name for key, name in _POOLING_KEYS.items() if pooling_cfg.get(key)] if pooling_cfg else ["mean"]
    unsupported = [k for k, v in (pooling_cfg or {}).items() if k.startswith("pooling_mode_") and v and k not in _POOLING_KEYS]
    if unsupported or not pooling:
        raise OnnxExportError(f"{model_dir}: pooling {unsupported or 'none'} is not supported by the ONNX backend")

    st_cfg = {}
    for name in ("sentence_bert_config.json", "sentence_xlnet_config.json"):
        st_cfg = st_cfg or _read_json(transformer_dir / name)
    hf_cfg = _read_json(transformer_dir / "config.json")
    max_len = st_cfg.get("max_seq_length") or min(
        _read_json(transformer_dir / "tokenizer_config.json").get("model_max_length", 512),
        hf_cfg.get("max_position_embeddings", 512),
    )
    return {
        "transformer_dir": transformer_dir,
        "pooling": pooling,
        "normalize": normalize,
        "max_seq_length": int(max_len),
        "do_lower_case": bool(st_cfg.get("do_lower_case", False)),
        "dim": int(pooling_cfg.get("word_embedding_dimension") or hf_cfg.get("hidden_size")) * len(pooling),
    }


def _fingerprint(model_dir: Path) -> str:
    """Cheap identity of a model folder: small config files by content, weights by name and size.

    Stable across reinstalls of the same model (unlike mtimes) and does not hash 90 MB of weights.
    """
    h = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file() and ".cache" not in p.parts):
        rel = path.relative_to(model_dir).as_posix()
        h.update(rel.encode())
        if path.suffix == ".json" and path.stat().st_size < 2_000_000:
            h.update(path.read_bytes())
        else:
            h.update(str(path.stat().st_size).encode())
    return h.hexdigest()[:16]


def _file_sums(folder: Path) -> dict[str, str]:
    """blake2b of every file of an export but its meta file: recorded at export, checked at load."""
    out = {}
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.name != META_FILE:
            h = hashlib.blake2b(digest_size=16)
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            out[f.relative_to(folder).as_posix()] = h.hexdigest()
    return out


def damage(out_dir: Path) -> str:
    """Why the export in ``out_dir`` cannot be trusted ("" when it verifies): a missing or unreadable
    meta file, a file missing, or a file whose checksum changed since the export (a truncated copy)."""
    try:
        meta = json.loads((out_dir / META_FILE).read_text())
    except (OSError, ValueError) as exc:
        return f"its {META_FILE} is unreadable ({type(exc).__name__})"
    recorded = meta.get("checksums")
    if not isinstance(recorded, dict) or not recorded:
        return "it records no checksums (an older export)"
    found = _file_sums(out_dir)
    for rel, digest in recorded.items():
        if rel not in found:
            return f"{rel} is missing"
        if found[rel] != digest:
            return f"{rel} is damaged (its checksum changed)"
    return ""


def _existing_meta(out_dir: Path) -> dict | None:
    if damage(out_dir):
        return None
    return json.loads((out_dir / META_FILE).read_text())


def _matches(meta: dict | None, quantize: bool, fingerprint: str | None, model: str) -> bool:
    if not meta or meta.get("format") != EXPORT_FORMAT or meta.get("quantized") != quantize:
        return False
    if fingerprint is None:  # source not resolvable (offline, not cached): trust the recorded name
        return meta.get("source_model") == model
    return meta.get("source_fingerprint") == fingerprint


def _default_name(model: str, model_dir: Path) -> str:
    # Packaged models often live in a generic ".../<package>/model" folder; the package name says more.
    if Path(model).expanduser().is_dir():
        return model_dir.parent.name if model_dir.name in {"model", "models", "snapshot"} else model_dir.name
    return str(model).rstrip("/").rsplit("/", 1)[-1]


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "transformers", "sentence-transformers", "onnx", "onnxruntime", "tokenizers", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def _export_transformer(transformer_dir: Path, onnx_path: Path, tok_dir: Path) -> tuple[list[str], dict]:
    """Trace the Hugging Face encoder to ONNX (last_hidden_state only; pooling happens in numpy).

    Uses the TorchScript exporter (``dynamo=False``): it needs no onnxscript and handles
    BERT-style encoders well. Eager attention is requested so the graph holds plain
    MatMul/Softmax that int8 quantisation and ORT's fusions understand.
    """
    import warnings

    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(transformer_dir), use_fast=True)
    try:
        model = AutoModel.from_pretrained(str(transformer_dir), attn_implementation="eager")
    except (TypeError, ValueError):
        model = AutoModel.from_pretrained(str(transformer_dir))
    model.eval()

    import inspect

    accepted = set(inspect.signature(model.forward).parameters)
    input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in accepted and n in tokenizer.model_input_names]
    if "input_ids" not in input_names or "attention_mask" not in input_names:
        raise OnnxExportError(f"{transformer_dir}: tokenizer inputs {tokenizer.model_input_names} are not supported")

    class Encoder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            return self.inner(**dict(zip(input_names, args))).last_hidden_state

    # Two texts of different lengths so the traced graph sees real padding in the mask.
    sample = tokenizer(["short text", "a longer example sentence so that the batch carries padding"], padding=True, return_tensors="pt")
    args = tuple(sample[n] for n in input_names)
    axes = {n: {0: "batch", 1: "sequence"} for n in [*input_names, "last_hidden_state"]}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and deprecation warnings are expected and noisy
        torch.onnx.export(
            Encoder(model),
            args,
            str(onnx_path),
            input_names=input_names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )

    # Tokenizer files: copy the originals byte for byte; write tokenizer.json only if the model lacks one.
    for name in _TOKENIZER_FILES:
        if (transformer_dir / name).is_file():
            shutil.copy2(transformer_dir / name, tok_dir / name)
    if not (tok_dir / "tokenizer.json").is_file():
        tokenizer.backend_tokenizer.save(str(tok_dir / "tokenizer.json"))
    pad = {"pad_token": tokenizer.pad_token, "pad_id": int(tokenizer.pad_token_id or 0)}
    return input_names, pad


class _DropMessage(logging.Filter):
    def __init__(self, fragment: str):
        super().__init__()
        self.fragment = fragment

    def filter(self, record: logging.LogRecord) -> bool:
        return self.fragment not in record.getMessage()


def _quantize(src: Path, dst: Path) -> None:
    """Dynamic int8 quantisation: int8 weights, activations quantised per call at run time."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # quantize_dynamic always logs a "consider pre-processing" hint on the root logger; the
    # pre-processing (symbolic shape inference) fails on this graph and brings nothing here.
    root, drop = logging.getLogger(), _DropMessage("pre-processing before quantization")
    root.addFilter(drop)
    try:
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=getattr(QuantType, QUANT_OPTIONS["weight_type"]),
            per_channel=QUANT_OPTIONS["per_channel"],
            op_types_to_quantize=list(QUANT_OPTIONS["op_types"]),
        )
    finally:
        root.removeFilter(drop)


def export_onnx(model: str | Path, out_dir: Path, quantize: bool = True, *, name: str | None = None) -> Path:
    """Export a sentence-transformers model to an ONNX folder usable by ``OnnxEmbedder``.

    ``model`` is a folder or a hub name (resolved offline when ``HF_HUB_OFFLINE=1``).
    Idempotent: returns at once when ``out_dir`` already holds an export of the same
    model files with the same ``quantize`` setting. Atomic: the folder is built beside
    ``out_dir`` and swapped in with ``os.replace``, so readers never see half an export.
    ``name`` labels the embeddings (``OnnxEmbedder.name``); defaults to the folder/hub name.
    """
    out_dir = Path(out_dir).expanduser().resolve()
    model_str = str(model)
    try:
        model_dir = _resolve_model_dir(model)
    except Exception:
        if _matches(_existing_meta(out_dir), quantize, None, model_str):
            return out_dir
        raise
    fingerprint = _fingerprint(model_dir)
    if _matches(_existing_meta(out_dir), quantize, fingerprint, model_str):
        return out_dir

    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / META_FILE).is_file():
        raise OnnxExportError(f"{out_dir} exists and is not an ONNX export; refusing to replace it")

    started = time.perf_counter()
    layout = _read_st_layout(model_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        fp32_path = tmp / ("model_fp32.onnx" if quantize else ONNX_FILE)
        input_names, pad = _export_transformer(layout["transformer_dir"], fp32_path, tmp)
        if quantize:
            _quantize(fp32_path, tmp / ONNX_FILE)
            fp32_path.unlink()
        meta = {
            "format": EXPORT_FORMAT,
            "name": name or _default_name(model_str, model_dir),
            "source_model": model_str,
            "source_fingerprint": fingerprint,
            "dim": layout["dim"],
            "max_seq_length": layout["max_seq_length"],
            "do_lower_case": layout["do_lower_case"],
            "pooling": layout["pooling"],
            "normalize": layout["normalize"],
            "quantized": quantize,
            "quantization": QUANT_OPTIONS if quantize else None,
            "onnx_file": ONNX_FILE,
            "inputs": input_names,
            "output": "last_hidden_state",
            **pad,
            "opset": OPSET,
            "versions": _versions(),
            "export_seconds": round(time.perf_counter() - started, 2),
            "checksums": _file_sums(tmp),
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        _swap_in(tmp, out_dir, quantize, fingerprint, model_str)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("exported %s to %s in %.1f s", model_str, out_dir, time.perf_counter() - started)
    return out_dir


def _swap_in(tmp: Path, out_dir: Path, quantize: bool, fingerprint: str, model: str) -> None:
    """Move the finished ``tmp`` folder to ``out_dir``, replacing a stale export if any.

    ``os.replace`` cannot overwrite a non-empty folder, so a stale one is first renamed
    aside. If another process won the race with a matching export, keep theirs.
    """
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            os.replace(out_dir, old)
        except FileNotFoundError:
            old = None
    try:
        os.replace(tmp, out_dir)
    except OSError:
        if not _matches(_existing_meta(out_dir), quantize, fingerprint, model):
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


