"""The plain-Python runner end to end (no Prefect): one member, and a mutual run with a frozen labeller."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sentence_transformers

from artifacts.hashing import folder_digest
from artifacts.pairs import SCORER_PREFIX, read_labelled
from flows.plain import run_plain
from flows.score import main as score_main
from models.config import PipelineConfig
from models.data import TEST_SETS
from pipeline.run import plan_run

pytestmark = pytest.mark.slow  # each test runs the whole pipeline, some twice

QUICK = dict(pool="stsb", max_pairs=48, warmup="mirror", max_steps=2, warmup_batch_size=16, bi_batch_size=16,
             cross_batch_size=16, eval_batch_size=256, device="cpu")


def entries(run_dir: Path) -> list[dict]:
    return json.loads((run_dir / "manifest.json").read_text())["entries"]


def test_two_cycles_write_models_scores_and_pick_best_on_dev(tiny_model_dir: Path, mini_sts_dir: Path,
                                                             tmp_path: Path) -> None:
    config = PipelineConfig(model=str(tiny_model_dir), data_dir=str(mini_sts_dir), cycles=2, onnx_export=True,
                            **QUICK)
    outcome = run_plain("paper", config, tmp_path)
    scores = outcome["scores"]
    assert set(scores) == {"start bi", "warm-up bi", "cycle 1 bi", "cycle 1 cross", "cycle 2 bi", "cycle 2 cross"}
    for row in scores.values():
        assert set(row) == {*TEST_SETS, "avg", "dev"}
        assert row["avg"] == pytest.approx(np.mean([row[name] for name in TEST_SETS])), "avg: the test sets' mean"
    assert scores["cycle 1 bi"] != scores["start bi"], "training changed the bi-encoder"
    dev = {c: scores[f"cycle {c} cross"]["dev"] for c in (1, 2)}
    assert outcome["best_cycle"]["cross"] == max(dev, key=dev.get)
    run_dir = Path(outcome["run_dir"])
    sentence_transformers.SentenceTransformer(str(run_dir / "bi-encoder"), device="cpu")
    for export in ("bi-encoder", "cross-encoder"):  # --onnx-export: the graphs beside the weights, the card says how
        assert {p.name for p in (run_dir / export / "onnx").iterdir()} == {"model.onnx", "model_qint8_avx2.onnx"}
        assert 'backend="onnx"' in (run_dir / export / "README.md").read_text()
    assert {e["status"] for e in entries(run_dir)} == {"ran"}
    assert all(isinstance(e["peak_rss_mb"], (int, float)) for e in entries(run_dir)), "each stage that ran measured"

    again = run_plain("paper", config, tmp_path)
    assert again["scores"] == scores, "a rerun reads every score back from the store"
    assert {e["status"] for e in entries(run_dir)} == {"cached"}
    assert {e["peak_rss_mb"] for e in entries(run_dir)} == {None}, "a cached stage ran nothing to measure"

    planned = plan_run("paper", config, tmp_path)
    assert [stage.title for stage in planned] == [e["title"] for e in entries(run_dir)]
    assert {stage.status for stage in planned} == {"cached"}
    replanned = {stage.title: stage for stage in plan_run("paper", config.replace(cross_lr=1e-3), tmp_path)}
    assert replanned["cycle 1: bi-labels [tiny-bert0]"].status == "cached"
    assert replanned["cycle 1: cross [tiny-bert0]"].reason == "settings changed (cross_lr)"
    assert replanned["cycle 1: cross-labels [tiny-bert0]"].reason == "new inputs"


def test_mutual_run_of_two_widths_with_a_frozen_labeller(tiny_models: dict[str, Path], mini_sts_dir: Path,
                                                         tmp_path: Path) -> None:
    labeller = tiny_models["bert40"]
    before = folder_digest(labeller)
    config = PipelineConfig(models=f"{tiny_models['bert32']},{tiny_models['bert48']}", labellers=str(labeller),
                            data_dir=str(mini_sts_dir), cycles=1, **QUICK)
    outcome = run_plain("paper", config, tmp_path)

    assert folder_digest(labeller) == before, "a frozen labeller is never trained"
    rows = set(outcome["scores"])
    for member in ("bert32", "bert48"):
        assert {f"start {member} bi", f"cycle 1 {member} bi", f"cycle 1 {member} cross"} <= rows
        for kind, folder in (("bi", "bi-encoder"), ("cross", "cross-encoder")):
            assert Path(outcome["exports"][f"{member} {kind}"]) == Path(outcome["run_dir"]) / member / folder
    assert {"cycle 1 ensemble bi", "cycle 1 ensemble cross"} <= rows
    assert outcome["best_cycle"]["ensemble bi"] == outcome["best_cycle"]["ensemble cross"] == 1, \
        "with one cycle the ensembles' best cycle is every member's, so each may be recommended"
    widths = {sentence_transformers.SentenceTransformer(outcome["exports"][f"{m} bi"], device="cpu")
              .get_embedding_dimension() for m in ("bert32", "bert48")}
    assert widths == {32, 48}, "each member keeps its own width"

    averaged = [e for e in entries(Path(outcome["run_dir"])) if e["stage"] == "average-labels"]
    assert len(averaged) == 2, "one averaged artifact per direction"
    bi_side = read_labelled(Path(next(e["path"] for e in averaged if "bi:bert40" in e["metrics"]["scorers"])))
    scorers = [c for c in bi_side.columns if c.startswith(SCORER_PREFIX)]
    assert sorted(scorers) == [f"{SCORER_PREFIX}bi:{m}" for m in ("bert32", "bert40", "bert48")]
    np.testing.assert_allclose(bi_side["label"], bi_side[scorers].mean(axis=1), rtol=1e-6, atol=1e-7)
    cross_side = read_labelled(Path(next(e["path"] for e in averaged if "cross:bert32" in e["metrics"]["scorers"])))
    assert sorted(c for c in cross_side.columns if c.startswith(SCORER_PREFIX)) == \
        [f"{SCORER_PREFIX}cross:{m}" for m in ("bert32", "bert48")], "a bi-encoder labeller joins the bi side only"


@pytest.mark.parametrize("join", ["own", "both"])
def test_a_frozen_labeller_joins_its_own_kinds_average_or_both(tiny_models: dict[str, Path], mini_sts_dir: Path,
                                                               tmp_path: Path, join: str) -> None:
    """--labellers-join both (the cpu preset's): the frozen bi-encoder's scores teach the bi-encoder too."""
    config = PipelineConfig(model=str(tiny_models["bert32"]), labellers=str(tiny_models["bert40"]),
                            labellers_join=join, data_dir=str(mini_sts_dir), cycles=1, eval="none", **QUICK)
    outcome = run_plain("paper", config, tmp_path)
    averaged: dict[str, list[str]] = {}
    for entry in entries(Path(outcome["run_dir"])):
        if entry["stage"] == "average-labels":
            frame = read_labelled(Path(entry["path"]))
            scorers = sorted(c for c in frame.columns if c.startswith(SCORER_PREFIX))
            np.testing.assert_allclose(frame["label"], frame[scorers].mean(axis=1), rtol=1e-6, atol=1e-7)
            averaged["bi" if f"{SCORER_PREFIX}bi:bert32" in scorers else "cross"] = scorers
    labeller = f"{SCORER_PREFIX}bi:bert40"
    assert averaged["bi"] == [f"{SCORER_PREFIX}bi:bert32", labeller], "the bi -> cross labels: its own kind"
    assert averaged["cross"] == [*([labeller] if join == "both" else []), f"{SCORER_PREFIX}cross:bert32"]


def test_distil_from_all_teaches_the_bi_encoder_with_every_scorer(tiny_model_dir: Path, mini_sts_dir: Path,
                                                                  tmp_path: Path) -> None:
    config = PipelineConfig(model=str(tiny_model_dir), data_dir=str(mini_sts_dir), cycles=1, distil_from="all",
                            **QUICK)
    outcome = run_plain("paper", config, tmp_path)
    teacher = [e for e in entries(Path(outcome["run_dir"])) if e["stage"] == "average-labels"][-1]
    name = tiny_model_dir.name
    assert teacher["metrics"]["scorers"] == [f"cross:{name}", f"bi:{name}"]
    frame = read_labelled(Path(teacher["path"]))
    np.testing.assert_allclose(frame["label"], frame[[f"{SCORER_PREFIX}cross:{name}", f"{SCORER_PREFIX}bi:{name}"]]
                               .mean(axis=1), rtol=1e-6, atol=1e-7)


def test_sharded_labelling_merges_to_the_unsharded_labels_and_a_lost_shard_alone_is_redone(
        tiny_models: dict[str, Path], mini_sts_dir: Path, tmp_path: Path) -> None:
    settings = dict(QUICK, model=str(tiny_models["bert32"]), labellers=str(tiny_models["bert40"]),
                    data_dir=str(mini_sts_dir), cycles=1, eval="none")
    whole = run_plain("paper", PipelineConfig(**settings), tmp_path / "whole")
    sharded = run_plain("paper", PipelineConfig(**settings, shard_pairs=20), tmp_path / "sharded")

    def teachers(outcome: dict) -> list[pd.DataFrame]:
        return [read_labelled(Path(e["path"])) for e in entries(Path(outcome["run_dir"]))
                if e["stage"] == "average-labels"]

    shards = [e for e in entries(Path(sharded["run_dir"])) if e["stage"] in ("bi-labels", "cross-labels")]
    merges = [e for e in entries(Path(sharded["run_dir"])) if e["stage"] == "merge-labels"]
    assert len(shards) == 9 and len(merges) == 3, "48 pairs in shards of 20: 3 per labelling (labeller, bi, cross)"
    assert all(e["metrics"]["shards"] == 3 for e in merges)
    for one, other in zip(teachers(whole), teachers(sharded), strict=True):
        assert one[["text_a", "text_b"]].equals(other[["text_a", "text_b"]])
        np.testing.assert_allclose(one["label"], other["label"], atol=1e-5)

    lost = Path(shards[4]["path"])
    lost.unlink()
    run_plain("paper", PipelineConfig(**settings, shard_pairs=20), tmp_path / "sharded")
    ran = [(e["stage"], e["path"]) for e in entries(Path(sharded["run_dir"])) if e["status"] == "ran"]
    assert ran == [(shards[4]["stage"], str(lost))], "only the lost shard is redone; its merge is the same file"


def own_pairs(folder: Path, sts_dir: Path, rows: int, label: bool) -> Path:
    """A user's pair file made from STS-B dev rows (question/answer columns), with or without labels."""
    from models.data import load_stsb_dev

    dev = load_stsb_dev(sts_dir)
    frame = {"question": dev.sentences1[:rows], "answer": dev.sentences2[:rows]}
    if label:
        frame["score"] = list(dev.scores[:rows])
    path = folder / ("dev.csv" if label else "pool.csv")
    pd.DataFrame(frame).to_csv(path, index=False)
    return path


def test_own_pairs_with_no_sts_folder_choose_on_dev_pairs_or_export_the_last_cycle(
        tiny_model_dir: Path, sts_dir: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("STS_DATA_DIR", raising=False)
    pool, dev = own_pairs(tmp_path, sts_dir, 48, False), own_pairs(tmp_path, sts_dir, 60, True)
    own = dict(QUICK, pool="custom", pool_path=str(pool), text_a="question", text_b="answer")
    config = PipelineConfig(model=str(tiny_model_dir), cycles=2, dev_pairs=str(dev), label_column="score", **own)
    outcome = run_plain("paper", config, tmp_path / "runs")
    assert set(outcome["scores"]["cycle 1 bi"]) == {"own dev"}, "no STS set is read, none is fetched"
    best = {c: outcome["scores"][f"cycle {c} cross"]["own dev"] for c in (1, 2)}
    assert outcome["best_cycle"]["cross"] == max(best, key=best.get)
    assert "on own dev (--dev-pairs)" in (Path(outcome["run_dir"]) / "summary.md").read_text()

    blind = run_plain("paper", PipelineConfig(model=str(tiny_model_dir), cycles=2, **own), tmp_path / "runs")
    assert blind["scores"] == {} and blind["best_cycle"] == {"bi": 2, "cross": 2}
    assert "the last cycle is exported" in (Path(blind["run_dir"]) / "summary.md").read_text()
    scored = tmp_path / "scored.parquet"
    score_main([blind["run_dir"], str(pool), "--text-a", "question", "--text-b", "answer", "--out", str(scored),
                "--chunk", "20", "--device", "cpu", "--kind", "cross"])
    frame = pd.read_parquet(scored)
    reference = sentence_transformers.CrossEncoder(blind["exports"]["cross"], device="cpu")
    expected = reference.predict(list(zip(frame["text_a"], frame["text_b"])))
    assert len(frame) == 48 and np.allclose(frame["score"], expected, atol=1e-5), "the run's cross-encoder scored it"


def test_same_command_and_seed_give_identical_pseudo_label_files(tiny_model_dir: Path, mini_sts_dir: Path,
                                                                 tmp_path: Path) -> None:
    config = PipelineConfig(model=str(tiny_model_dir), data_dir=str(mini_sts_dir), cycles=1, eval="none", **QUICK)
    digests = []
    for attempt in ("first", "second"):
        run_dir = Path(run_plain("paper", config, tmp_path / attempt)["run_dir"])
        digests.append([(e["stage"], e["sha256"]) for e in entries(run_dir)
                        if e["stage"] in ("bi-labels", "average-labels", "cross-labels")])
    assert len(digests[0]) == 4 and digests[0] == digests[1], "CPU runs repeat bit for bit"


def test_an_isbert_warm_up_carries_its_ngram_cnn_through_the_cycle_into_the_export(
        tiny_model_dir: Path, mini_sts_dir: Path, tmp_path: Path) -> None:
    config = PipelineConfig(model=str(tiny_model_dir), data_dir=str(mini_sts_dir), cycles=1, reinit=True,
                            **QUICK | {"warmup": "isbert"})
    outcome = run_plain("paper", config, tmp_path)
    export = Path(outcome["exports"]["bi"])
    assert (export / "1_NgramCNN" / "model.safetensors").is_file() and (export / "ngram_cnn.py").is_file()
    assert "trust_remote_code=True" in (export / "README.md").read_text()
    assert "trust_remote_code=True" in (Path(outcome["run_dir"]) / "summary.md").read_text()
    model = sentence_transformers.SentenceTransformer(str(export), device="cpu", trust_remote_code=True)
    assert model.get_embedding_dimension() == 3 * 256
