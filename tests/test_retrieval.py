"""Search evaluation (models/retrieval.py): metrics against hand arithmetic, BEIR folders, tasks made from pairs,
retrieval and reranking with tiny real models."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.data.errors import DataError
from models.data.retrieval_task import RetrievalTask, load_beir, load_task, task_from_pairs, write_beir
from models.encoders.bi_encoder import BiEncoder
from models.encoders.cross_encoder import CrossEncoder
from models.metrics import MRR10, NDCG10, RECALL10, RECALL100
from models.retrieval import main, mean_metrics, query_metrics, rerank, retrieve, score_rankings


def test_metrics_equal_the_hand_computed_values() -> None:
    # q1 judges d1 with grade 2 and d3 with grade 1, and ranks d2, d1, d4, d3:
    #   DCG@10  = 0/log2(2) + 2/log2(3) + 0/log2(4) + 1/log2(5) = 1.261860 + 0.430677 = 1.692537
    #   IDCG@10 = 2/log2(2) + 1/log2(3)                        = 2 + 0.630930        = 2.630930
    #   nDCG@10 = 1.692537 / 2.630930 = 0.643320; MRR@10 = 1/2 (first relevant at rank 2); Recall@10 = @100 = 2/2
    # q2 judges only d5, ranked 12th: nDCG@10 = MRR@10 = Recall@10 = 0, Recall@100 = 1
    task = RetrievalTask("hand", [f"d{i}" for i in range(1, 13)], [""] * 12, ["q1", "q2"], ["", ""],
                         {"q1": {"d1": 2, "d3": 1, "d6": 0}, "q2": {"d5": 1}})
    rows = score_rankings(task, [["d2", "d1", "d4", "d3"],
                                 ["d1", "d2", "d3", "d4", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d5"]])
    q1 = rows.iloc[0]
    assert q1[NDCG10] == pytest.approx(64.3320, abs=1e-3)
    assert (q1[MRR10], q1[RECALL10], q1[RECALL100]) == (50.0, 100.0, 100.0)
    assert rows.iloc[1][[NDCG10, MRR10, RECALL10, RECALL100]].tolist() == [0.0, 0.0, 0.0, 100.0]
    means = mean_metrics(rows)
    assert means[NDCG10] == pytest.approx(64.3320 / 2, abs=1e-3)
    assert (means[MRR10], means[RECALL10], means[RECALL100]) == (25.0, 50.0, 100.0)
    assert query_metrics(["d3", "d1"], {"d1": 2, "d3": 1})[NDCG10] < 100, "a lower grade first loses gain"
    assert query_metrics(["d1", "d3"], {"d1": 2, "d3": 1})[NDCG10] == pytest.approx(100)


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def beir_folder(folder: Path) -> Path:
    """Three documents (one titled), three queries (one judged only with grade 0), test and dev judgements."""
    _jsonl(folder / "corpus.jsonl", [{"_id": "a", "title": "Printers", "text": "the printer is offline"},
                                     {"_id": "b", "title": "", "text": "reset a password"},
                                     {"_id": 3, "text": "order a new laptop"}])
    _jsonl(folder / "queries.jsonl", [{"_id": "q1", "text": "printer not connecting"},
                                      {"_id": "q2", "text": "forgot my password"},
                                      {"_id": "q3", "text": "lunch menu"}])
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\ta\t1\nq2\tb\t2\nq2\t3\t1\nq3\ta\t0\n")
    (folder / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\nq3\t3\t1\n")
    return folder


def test_a_beir_folder_reads_titles_judged_queries_and_a_chosen_split(tmp_path: Path) -> None:
    task = load_beir(beir_folder(tmp_path / "task"))
    assert task.doc_ids == ["a", "b", "3"]
    assert task.doc_texts == ["Printers the printer is offline", "reset a password", "order a new laptop"]
    assert task.query_ids == ["q1", "q2"], "q3 has no judgement above 0: not evaluated"
    assert task.qrels["q2"] == {"b": 2, "3": 1}
    assert load_beir(tmp_path / "task", split="dev").query_ids == ["q3"]
    (tmp_path / "task" / "qrels" / "test.tsv").rename(tmp_path / "task" / "qrels" / "train.tsv")
    with pytest.raises(DataError, match=r"no test\.tsv \(found: dev\.tsv, train\.tsv\)"):
        load_beir(tmp_path / "task")  # two other splits: which one is not guessed
    (tmp_path / "task" / "qrels" / "train.tsv").unlink()
    assert load_beir(tmp_path / "task").query_ids == ["q3"], "the only qrels file"


BAD_FOLDERS = {
    "queries missing": (lambda f: (f / "queries.jsonl").unlink(), r"queries\.jsonl not found in .*task"),
    "bad JSON line": (lambda f: (f / "corpus.jsonl").write_text('{"_id": "a", "text": "x"}\n{"_id": "b",\n'),
                      r"corpus\.jsonl, line 2: not valid JSON"),
    "no text": (lambda f: _jsonl(f / "queries.jsonl", [{"_id": "q1"}]), r"queries\.jsonl, line 1: no 'text' field"),
    "unknown document": (lambda f: (f / "qrels" / "test.tsv").write_text("q1\tzz\t1\n"),
                         r"test\.tsv, line 1: document id 'zz' is not in corpus\.jsonl"),
    "unknown query": (lambda f: (f / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nqx\ta\t1\n"),
                      r"test\.tsv, line 2: query id 'qx' is not in queries\.jsonl"),
    "no positive judgement": (lambda f: (f / "qrels" / "test.tsv").write_text("q1\ta\t0\n"),
                              r"test\.tsv: no query has a relevant document"),
    "score not a number": (lambda f: (f / "qrels" / "test.tsv").write_text("q1\ta\thigh\n"),
                           r"test\.tsv, line 1: expected query-id<TAB>corpus-id<TAB>integer score"),
}


@pytest.mark.parametrize("case", BAD_FOLDERS)
def test_a_bad_folder_is_one_line_naming_the_file_and_line(case: str, tmp_path: Path) -> None:
    spoil, expected = BAD_FOLDERS[case]
    folder = beir_folder(tmp_path / "task")
    spoil(folder)
    with pytest.raises(DataError, match=expected) as raised:
        load_task(folder)
    assert "\n" not in str(raised.value)


def pair_file(path: Path) -> Path:
    pd.DataFrame({"q": ["cat on a mat", "cat on a mat", "a dog runs", "a dog runs", "same", "a bird sings"],
                  "a": ["a cat sits", "kitten on rug", "dog running", "a cat sits", "same", "a dog runs"],
                  "y": [1, 1, 1, 0, 1, 1]}).to_csv(path, index=False)
    return path


def test_pairs_become_a_task_with_every_text_in_the_corpus_and_no_query_finding_itself(tmp_path: Path) -> None:
    task = task_from_pairs(pair_file(tmp_path / "pairs.csv"), "q", "a", "y")
    texts = dict(zip(task.doc_ids, task.doc_texts))
    assert sorted(texts.values()) == sorted({"cat on a mat", "a dog runs", "same", "a bird sings", "a cat sits",
                                             "kitten on rug", "dog running"}), "both columns, negatives too"
    queries = dict(zip(task.query_ids, task.query_texts))
    assert sorted(queries.values()) == ["a bird sings", "a dog runs", "cat on a mat"], "'same' only matches itself"
    by_text = {text: query for query, text in queries.items()}
    assert {texts[d] for d in task.qrels[by_text["cat on a mat"]]} == {"a cat sits", "kitten on rug"}
    assert all(texts[query] == text for query, text in queries.items()), "a query's id is its own document's"
    back = load_beir(write_beir(task, tmp_path / "beir"))
    assert (back.doc_texts, back.query_ids, back.qrels) == (task.doc_texts, task.query_ids, task.qrels)
    main(["make-task", str(tmp_path / "pairs.csv"), str(tmp_path / "cli"), "--text-a", "q", "--text-b", "a",
          "--label-column", "y"])
    assert load_task(tmp_path / "cli").qrels == task.qrels
    pd.DataFrame({"q": ["x", "y"], "a": ["z", "w"], "y": [0.5, 3.0]}).to_csv(tmp_path / "graded.csv", index=False)
    with pytest.raises(DataError, match="graded; a retrieval task needs 0/1 labels"):
        task_from_pairs(tmp_path / "graded.csv", "q", "a", "y")


def test_retrieval_leaves_each_query_out_and_reranking_orders_only_the_top_k(tiny_model_dir: Path,
                                                                            tmp_path: Path) -> None:
    task = task_from_pairs(pair_file(tmp_path / "pairs.csv"), "q", "a", "y")
    bi = BiEncoder.from_pretrained(tiny_model_dir, max_length=32)
    rankings = retrieve(bi, task, depth=5)
    assert all(query not in ranking and len(ranking) == 5 for query, ranking in zip(task.query_ids, rankings))
    embeddings = bi.encode(task.doc_texts)
    queries = bi.encode(task.query_texts)
    for query, vector, ranking in zip(task.query_ids, queries, rankings):
        cosines = {doc: float(vector @ embeddings[task.doc_ids.index(doc)]) for doc in ranking}
        assert list(cosines.values()) == sorted(cosines.values(), reverse=True), query
    cross = CrossEncoder.from_pretrained(tiny_model_dir)
    reranked = rerank(cross, task, rankings, k=3)
    documents = dict(zip(task.doc_ids, task.doc_texts))
    for text, before, after in zip(task.query_texts, rankings, reranked):
        assert sorted(after[:3]) == sorted(before[:3]) and after[3:] == before[3:]
        scores = cross.score([text] * 3, [documents[doc] for doc in after[:3]])
        assert np.all(np.diff(scores) <= 1e-6), "the top 3 in the cross-encoder's order"


def test_evaluate_retrieval_scores_each_bi_encoder_and_the_cross_encoder_reranking_it(
        tiny_model_dir: Path, prefect_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.evaluate import main as evaluate_main
    from tests.test_evaluate import _artifact_rows

    monkeypatch.delenv("STS_DATA_DIR", raising=False)  # --skip-sts: no STS folder is needed
    bi, cross = tmp_path / "bi", tmp_path / "cross"
    BiEncoder.from_pretrained(tiny_model_dir).save(bi)
    CrossEncoder.from_pretrained(tiny_model_dir).save(cross)
    folder = beir_folder(tmp_path / "task")
    out = tmp_path / "evaluation.json"
    report = evaluate_main([str(bi), str(cross), "--retrieval", str(folder), "--rerank", "2", "--skip-sts",
                            "--device", "cpu", "--out", str(out)])
    assert report["results"] == [], "no STS set and no pairs: nothing else is scored"
    search = report["retrieval"]
    assert (search["queries"], search["documents"], search["rerank"]) == (2, 3, 2)
    (by_bi, by_cross) = search["results"]
    assert (by_bi["kind"], by_cross["kind"], by_cross["reranks"]) == ("bi", "cross", str(bi))
    task = load_task(folder)
    expected = mean_metrics(score_rankings(task, retrieve(BiEncoder.from_pretrained(bi, max_length=256), task)))
    assert by_bi["scores"] == pytest.approx(expected)
    assert by_bi["scores"][RECALL100] == 100.0, "three documents: all of them are in the top 100"
    assert json.loads(out.read_text())["retrieval"] == search
    rows = _artifact_rows("retrieval-evaluation")
    assert [row["nDCG@10"] for row in rows] == [f"{r['scores'][NDCG10]:.2f}" for r in search["results"]]


def test_evaluate_with_a_bad_retrieval_folder_is_one_line_and_exit_2(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from flows.evaluate import main as evaluate_main

    folder = beir_folder(tmp_path / "task")
    (folder / "qrels" / "test.tsv").write_text("q1\tnope\t1\n")
    with pytest.raises(SystemExit) as done:
        evaluate_main(["minilm-l6", "--retrieval", str(folder), "--skip-sts", "--device", "cpu"])
    error = capsys.readouterr().err.strip()
    assert done.value.code == 2 and "\n" not in error
    assert error == f"error: {folder}/qrels/test.tsv, line 1: document id 'nope' is not in corpus.jsonl; add it " \
                    "there or remove the line"


def test_a_cross_encoder_reranks_the_bi_encoder_of_its_run_and_member_or_every_one_given_alone() -> None:
    from flows.evaluate import rerank_pairs

    chosen = [("run-a bi", "", "bi"), ("run-a cross", "", "cross"), ("run-b m1 bi", "", "bi"),
              ("run-b m2 bi", "", "bi"), ("run-b m2 cross", "", "cross"), ("minilm-l6", "", "bi"),
              ("path/to/ce", "", "cross"), ("mpnet-base", "", "bi")]
    assert rerank_pairs(chosen) == [(1, 0), (4, 3), (6, 5), (6, 7)]
