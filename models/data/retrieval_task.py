"""A retrieval task (queries, a corpus and graded relevance judgements) read from a BEIR folder or made from a
labelled pair file, and written back in BEIR layout.

BEIR layout: `corpus.jsonl` (`_id`, `text`, optional `title`), `queries.jsonl` (`_id`, `text`) and
`qrels/<split>.tsv` (`query-id<TAB>corpus-id<TAB>score`, a header line first). Every error is one line naming the
file, the line where there is one, and the fix.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from models.data.errors import DataError
from models.data.labelled import load_labelled_pairs

QRELS_HEADER = ("query-id", "corpus-id", "score")
DEFAULT_SPLIT = "test"


@dataclass(frozen=True)
class RetrievalTask:
    """Queries (only those with a relevant document), the corpus, and per query each judged document's grade.

    As BEIR does (`ignore_identical_ids`), a document whose id is its query's id is never ranked for that query:
    a task made from pairs gives a query the id of its own text in the corpus, so it cannot retrieve itself."""

    name: str
    doc_ids: list[str]
    doc_texts: list[str]
    query_ids: list[str]
    query_texts: list[str]
    qrels: dict[str, dict[str, int]]  # query id -> corpus id -> grade (only grades > 0 count as relevant)

    def relevant(self, query_id: str) -> dict[str, int]:
        return {doc: grade for doc, grade in self.qrels[query_id].items() if grade > 0}


def load_task(source: str | Path, text_a: str = "sentence1", text_b: str = "sentence2", label: str = "label",
              encoding: str = "utf-8", split: str | None = None) -> RetrievalTask:
    """A BEIR folder, or a labelled pair file (0/1 labels) turned into a task."""
    path = Path(source)
    if path.is_dir():
        return load_beir(path, split)
    if not path.exists():
        raise DataError(f"retrieval task not found: {path}; give a BEIR folder (corpus.jsonl, queries.jsonl, "
                        "qrels/test.tsv) or a pair file with 0/1 labels")
    return task_from_pairs(path, text_a, text_b, label, encoding)


def load_beir(folder: Path, split: str | None = None) -> RetrievalTask:
    """Read a BEIR folder; documents are `title + " " + text` when the title is not empty."""
    corpus = {doc: (f"{record['title']} {text}" if record.get("title") else text)
              for doc, text, record in _records(folder / "corpus.jsonl")}
    queries = {query: text for query, text, _ in _records(folder / "queries.jsonl")}
    qrels_path = _qrels_file(folder, split)
    qrels: dict[str, dict[str, int]] = {}
    for line_no, line in enumerate(qrels_path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.rstrip("\r").split("\t")
        if not line.strip() or (line_no == 1 and tuple(fields) == QRELS_HEADER):
            continue
        if len(fields) != 3 or not fields[2].strip().lstrip("-").isdigit():
            raise DataError(f"{qrels_path}, line {line_no}: expected query-id<TAB>corpus-id<TAB>integer score, got "
                            f"{line[:80]!r}; fix or remove the line")
        query, doc, score = fields[0].strip(), fields[1].strip(), int(fields[2])
        for what, found, known in (("query", query, queries), ("document", doc, corpus)):
            if found not in known:
                name = "queries.jsonl" if what == "query" else "corpus.jsonl"
                raise DataError(f"{qrels_path}, line {line_no}: {what} id {found!r} is not in {name}; add it there "
                                "or remove the line")
        qrels.setdefault(query, {})[doc] = score
    judged = [query for query in queries if any(score > 0 for score in qrels.get(query, {}).values())]
    if not judged:
        raise DataError(f"{qrels_path}: no query has a relevant document (a score above 0); add judgements")
    return RetrievalTask(folder.name, list(corpus), list(corpus.values()), judged, [queries[q] for q in judged],
                         {query: qrels[query] for query in judged})


def _qrels_file(folder: Path, split: str | None) -> Path:
    """`qrels/<split>.tsv`; without a split, qrels/test.tsv, else the only file there."""
    if not folder.is_dir():
        raise DataError(f"retrieval folder not found: {folder}")
    found = sorted((folder / "qrels").glob("*.tsv"))
    chosen = folder / "qrels" / f"{split or DEFAULT_SPLIT}.tsv"
    if chosen.is_file():
        return chosen
    if split is None and len(found) == 1:
        return found[0]
    listed = ", ".join(path.name for path in found) or "none"
    raise DataError(f"{folder / 'qrels'}: no {chosen.name} (found: {listed}); write the judgements to "
                    f"{chosen.relative_to(folder)} as query-id<TAB>corpus-id<TAB>score")


def _records(path: Path) -> list[tuple[str, str, dict]]:
    """(id, text, record) per line of a BEIR .jsonl file; ids are unique, texts are strings."""
    if not path.is_file():
        raise DataError(f"{path.name} not found in {path.parent}; a BEIR folder holds corpus.jsonl, queries.jsonl "
                        "and qrels/test.tsv")
    records: list[tuple[str, str, dict]] = []
    seen: set[str] = set()
    for line_no, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}, line {line_no}: not valid JSON ({exc.msg}); fix or remove the line") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}, line {line_no}: expected a JSON object, got {type(record).__name__}")
        for key in ("_id", "text"):
            if key not in record:
                raise DataError(f"{path}, line {line_no}: no {key!r} field; every line needs \"_id\" and \"text\"")
        if not isinstance(record["text"], str) or not isinstance(record.get("title", ""), str):
            raise DataError(f"{path}, line {line_no}: 'text' (and 'title') must be strings")
        identity = str(record["_id"])
        if identity in seen:
            raise DataError(f"{path}, line {line_no}: id {identity!r} appears twice; ids must be unique")
        seen.add(identity)
        records.append((identity, record["text"], record))
    if not records:
        raise DataError(f"{path} has no lines; it needs one JSON object per line")
    return records


def task_from_pairs(path: Path, text_a: str = "sentence1", text_b: str = "sentence2", label: str = "label",
                    encoding: str = "utf-8") -> RetrievalTask:
    """A search task from labelled pairs: each positive pair's text_a is a query and its text_b a relevant text.

    The corpus is every distinct text of the file, both columns, negatives included (they are the distractors).
    A text_a in several positive pairs is one query with several relevant texts. A query's id is the id of its
    own text in the corpus, so (BEIR's identical-id rule) it never retrieves itself: a text always matches itself
    best, which would say nothing about the model. A positive pair of a text with itself is left out for the same
    reason."""
    pairs = load_labelled_pairs(path, text_a, text_b, label, encoding)
    if not set(pairs.scores.tolist()) <= {0.0, 1.0}:
        raise DataError(f"{path}: label column {label!r} is graded; a retrieval task needs 0/1 labels (1: the "
                        "second text answers the first)")
    ids = {text: f"d{i}" for i, text in enumerate(dict.fromkeys([*pairs.sentences1, *pairs.sentences2]))}
    qrels: dict[str, dict[str, int]] = {}
    for a, b, score in zip(pairs.sentences1, pairs.sentences2, pairs.scores):
        if score == 1 and a != b:
            qrels.setdefault(ids[a], {})[ids[b]] = 1
    if not qrels:
        raise DataError(f"{path}: no pair labelled 1 with two different texts; a retrieval task needs positives")
    texts = {identity: text for text, identity in ids.items()}
    return RetrievalTask(path.stem, list(texts), list(texts.values()), list(qrels), [texts[q] for q in qrels], qrels)


def write_beir(task: RetrievalTask, folder: Path, split: str = DEFAULT_SPLIT) -> Path:
    """The task in BEIR layout (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)."""
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    lines = lambda rows: "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)  # noqa: E731
    (folder / "corpus.jsonl").write_text(lines({"_id": d, "title": "", "text": t}
                                               for d, t in zip(task.doc_ids, task.doc_texts)), encoding="utf-8")
    (folder / "queries.jsonl").write_text(lines({"_id": q, "text": t}
                                                for q, t in zip(task.query_ids, task.query_texts)), encoding="utf-8")
    judgements = [f"{q}\t{d}\t{grade}\n" for q in task.query_ids for d, grade in task.qrels[q].items()]
    (folder / "qrels" / f"{split}.tsv").write_text("\t".join(QRELS_HEADER) + "\n" + "".join(judgements),
                                                   encoding="utf-8")
    return folder
