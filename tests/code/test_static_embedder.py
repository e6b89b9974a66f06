"""The static embedder distilled from the packaged MiniLM: built locally and cached by content hash, the same
vectors as model2vec's own ``encode``, clear errors for an unwritable cache or a damaged model; and the embedding
checks' ``model`` option."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from playbook_lib import settings
from playbook_lib.checks import CheckContext
from playbook_lib.checks.embedding import COVERAGE_THRESHOLDS, EmbeddingCoverageCheck, RelevanceCheck
from playbook_lib.data import load_records
from playbook_lib.embeddings import static
from playbook_lib.embeddings.static import StaticEmbedder, build_static_model, static_model_path
from playbook_lib.errors import DataError, UsageError
from playbook_lib.sample_data import path as sample_path

TEXTS = [
    "How do I calibrate the pH meter before a field trip?",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.",
    "",
    "😀😀",
    "x" * 5000,
    "Café, naïve, résumé: accents are stripped by the tokenizer.",
]


@pytest.fixture(scope="module")
def embedder() -> StaticEmbedder:
    return StaticEmbedder()


def test_vectors_match_model2vec_encode(embedder: StaticEmbedder) -> None:
    ours = embedder.embed_documents(TEXTS * 3)
    theirs = embedder.model.encode(TEXTS * 3, use_multiprocessing=False).astype(np.float32)
    norms = np.linalg.norm(theirs, axis=1, keepdims=True)
    theirs = np.divide(theirs, norms, out=np.zeros_like(theirs), where=norms > 0)
    assert ours.shape == (18, embedder.dim) and ours.dtype == np.float32
    assert np.allclose(ours, theirs, atol=2e-3)
    assert not ours[2].any()  # an empty text has no tokens: the zero vector, as model2vec gives
    assert np.allclose(np.linalg.norm(ours[[0, 1, 5]], axis=1), 1.0, atol=1e-5)
    assert np.allclose(embedder.embed_query(TEXTS[0]), ours[0])
    assert embedder.embed_documents([]).shape == (0, embedder.dim)


def test_similar_texts_are_closer_than_unrelated_ones(embedder: StaticEmbedder) -> None:
    a, b, c = embedder.embed_documents(
        ["How do I calibrate the pH meter?", "Calibrating a pH meter: what are the steps?", "Bake the bread for 40 min"]
    )
    assert a @ b > a @ c + 0.1


def test_the_build_is_named_by_content_and_settings(tmp_path: Path, embedder: StaticEmbedder) -> None:
    source = settings.embedding_model_path()
    built = static_model_path()
    assert built == static_model_path(source) and (built / "model.safetensors").is_file()
    assert built.parent == settings.cache_dir() / "static-embedders"
    assert static_model_path(source, pca_dims=128) != built
    copy = tmp_path / "minilm"
    shutil.copytree(source, copy)
    assert static_model_path(copy) == built  # the same files: the same build, wherever they are
    config = copy / "config.json"
    config.write_text(config.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert static_model_path(copy) != built  # one byte changed: another build


def test_an_unwritable_cache_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("PLAYBOOK_CACHE_DIR", str(blocker))
    with pytest.raises(UsageError, match="PLAYBOOK_CACHE_DIR") as caught:
        build_static_model()
    assert "\n" not in str(caught.value) and blocker.read_text(encoding="utf-8") == "not a folder"
    with pytest.raises(UsageError, match="pca_dims"):
        build_static_model(pca_dims=1)
    with pytest.raises(UsageError, match="no model files"):
        static.static_model_path(tmp_path)


def test_a_damaged_model_folder_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not safetensors")
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(DataError, match="delete the folder"):
        StaticEmbedder(tmp_path).embed_query("a text")


def test_the_checks_take_the_model_option() -> None:
    with pytest.raises(UsageError, match="model must be one of"):
        RelevanceCheck(model="gpt")
    assert EmbeddingCoverageCheck(model="static").threshold == COVERAGE_THRESHOLDS["static"]
    assert EmbeddingCoverageCheck(model="static", threshold=0.4).threshold == 0.4
    assert EmbeddingCoverageCheck().threshold == COVERAGE_THRESHOLDS["minilm"]


def test_static_relevance_finds_the_bundled_off_topic_rows() -> None:
    """Measured: all 4 planted rows (a recipe, a poem, a football result, pet names) flagged, plus 1 clean row."""
    records = load_records(sample_path("sft_sample.jsonl"))
    result = RelevanceCheck(model="static", fields=["instruction", "input"]).run(records, CheckContext())
    flagged = set(records["instruction"][result.flags])
    assert {"Give me a quick recipe for banana bread.", "Suggest three names for a pet goldfish."} <= flagged
    assert len(flagged) <= 6
    assert result.summary["model"] == "static" and result.summary["search"] == "exact"


def test_static_coverage_finds_the_bundled_billing_gap() -> None:
    """Measured with the calibrated 0.72: all 10 billing queries uncovered, and 7 phrased-differently support ones."""
    train = load_records(sample_path("sft_sample.jsonl"))
    traffic = load_records(sample_path("sft_traffic.jsonl"))
    result = EmbeddingCoverageCheck(model="static").run(train, CheckContext(traffic=traffic))
    groups = {g["group"]: g for g in result.summary["groups"]}
    assert groups["billing"]["uncovered_share"] == 1.0
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


def test_a_published_folder_is_never_half_built(tmp_path: Path) -> None:
    """``io.outputs.publish_folder``: a failed build leaves nothing behind; a copy another process published first
    is kept; a finished build appears whole."""
    from playbook_lib.io.outputs import publish_folder

    target = tmp_path / "cache" / "model"

    def broken(folder: Path) -> None:
        (folder / "half.bin").write_bytes(b"1")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        publish_folder(target, broken, what="a model", done="model.bin")
    assert list((tmp_path / "cache").iterdir()) == []

    def good(folder: Path) -> None:
        (folder / "model.bin").write_bytes(b"ours")

    assert publish_folder(target, good, what="a model", done="model.bin") == target
    assert (target / "model.bin").read_bytes() == b"ours"
    (target / "model.bin").write_bytes(b"theirs")  # published by someone else meanwhile
    publish_folder(target, good, what="a model", done="model.bin")
    assert (target / "model.bin").read_bytes() == b"theirs" and len(list((tmp_path / "cache").iterdir())) == 1


def test_the_default_static_embedder_is_keyed_by_its_build() -> None:
    """Cached vectors are keyed by the content-hashed build, not by "the default": vectors of a static model
    distilled from another source are never reused."""
    from playbook_lib.embeddings.cache import embedder_key
    from playbook_lib.embeddings.model import MiniLMEmbedder

    assert embedder_key(StaticEmbedder()) == embedder_key(StaticEmbedder(static_model_path()))
    assert embedder_key(MiniLMEmbedder()) == embedder_key(MiniLMEmbedder(settings.embedding_model_path()))
    assert embedder_key(StaticEmbedder()) != embedder_key(StaticEmbedder(static_model_path(pca_dims=128)))
