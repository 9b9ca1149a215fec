"""The reranker slot: plumbing only, with a tiny untrained cross-encoder (never a quality claim)."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.engine import Engine
from retrieval.rank.rerank import Reranker
from tests.conftest import SEEDS, make_settings


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory) -> str:
    """A 1-layer BERT cross-encoder with random weights and the bundled model's tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from retrieval.embed.models import resolve_model

    folder = tmp_path_factory.mktemp("tiny-ce")
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("all-MiniLM-L6-v2"))
    torch.manual_seed(7)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def test_configured_reranker_reorders_the_first_candidates(seeds_index, embedder, tiny_cross_encoder):
    question = "when were diplomatic relations established?"
    plain = Engine(make_settings(SEEDS, seeds_index), embedder=embedder)
    plain.load()
    reranked = Engine(make_settings(SEEDS, seeds_index, reranker=tiny_cross_encoder), embedder=embedder)
    reranked.load()
    assert reranked.reranker is not None and plain.reranker is None

    evidence = plain.evidence(question)  # the same search the reranking engine starts from
    head = evidence.ranked[:10]
    scores = Reranker(tiny_cross_encoder).scores(question, [r.passage.text for r in head])
    expected = [head[i].passage.id for i in np.argsort(-scores, kind="stable")[:3]]

    got = reranked.evidence(question)
    assert [r.passage.id for r in got.ranked[:3]] == expected
    assert [r.passage.id for r in got.ranked[10:]] == [r.passage.id for r in evidence.ranked[10:]]


def test_reranker_with_a_bad_model_names_the_setting(tmp_path):
    with pytest.raises(RuntimeError, match="BOT_RERANKER_MODEL"):
        Reranker(str(tmp_path / "no-such-model")).warm_up()
