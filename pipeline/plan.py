"""The Trans-Encoder cycle, written once: which stages run, on what, in which order.

`run_cycles` describes the run as stage calls and hands them to an executor: the Prefect flow
(`flows/full_cycle.py`, cached tasks), the plain runner (`flows/plain.py`, one process) or the planner
(`--plan`: every call's key and whether it is stored, nothing run). Calls
handed over together never depend on each other (one per member, or per scorer), so a parallel
executor may run them at once.

Mutual distillation over N members: the bi -> cross labels are the mean of every bi scorer's
cosines (members' latest bi-encoders and frozen bi labellers); every member's cross-encoder fits
them; the cross -> bi labels are the mean of every cross scorer's scores; every member's
bi-encoder distils from them. With one member and no labeller this is the paper's plain cycle.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Generic, Mapping, Protocol, Sequence, TypeVar

from models.config import PipelineConfig
from models.encoders.sources import model_kind
from models.metrics import selection_metric
from models.reporting.score_rows import ENSEMBLE, KINDS, WARM_UP, ExportKey, ScoreRow
from pipeline.stage import StageParams

H = TypeVar("H")  # an executor's handle on a stored stage output


@dataclass(frozen=True)
class StageCall(Generic[H]):
    """One stage to run: its name, cycle, the member or scorer it is for, its inputs and plain parameters."""

    stage: str
    cycle: int | None = None
    member: str | None = None
    inputs: Mapping[str, H] = field(default_factory=dict)
    params: StageParams = StageParams()

    @property
    def title(self) -> str:
        """Names the call within its run: 'cycle 2: scores bi [minilm-l6]', 'cycle 1: bi-labels rows 0-500'."""
        where = "warm-up: " if self.cycle == WARM_UP else f"cycle {self.cycle}: " if self.cycle else ""
        rows = f" rows {self.params.rows[0]}-{self.params.rows[1]}" if self.params.rows else ""
        kind = f" {self.params.kind}" if self.params.kind else ""
        return f"{where}{self.stage}{rows}{kind}" + (f" [{self.member}]" if self.member else "")


@dataclass(frozen=True)
class StageOutput(Generic[H]):
    handle: H
    metrics: Mapping[str, Any]


class Executor(Protocol[H]):
    def source(self, model: str) -> H:
        """A start model as a stage input (identified by its content)."""

    def run(self, calls: Sequence[StageCall[H]]) -> list[StageOutput[H]]:
        """Run independent calls (possibly at once) and return their outputs in order."""


@dataclass
class CycleResult(Generic[H]):
    """Scores per row label, the models behind them, and each exported model's best cycle on STS-B dev."""

    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    models: dict[str, H] = field(default_factory=dict)
    best_cycle: dict[str, int] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)  # name -> start model


def member_names(sources: Sequence[str]) -> dict[str, str]:
    """Short, unique names for start models (folder or hub id tail), in order: name -> source."""
    names: dict[str, str] = {}
    for source in sources:
        base = Path(source.rstrip("/")).name or source
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names[name] = source
    return names


def recommended(best_cycle: Mapping[str, int], scores: Mapping[str, Mapping[str, float]],
                metric: str | None) -> dict[str, tuple[str, float | None]]:
    """Per kind, the export key a user should take and its value: the best on `metric` (the first member's
    when nothing was scored)."""
    chosen: dict[str, tuple[str, float | None]] = {}
    for key, cycle in best_cycle.items():
        export = ExportKey.parse(key)
        kind = export.kind
        value = scores[ScoreRow(export, cycle).label][metric] if metric else None
        if kind not in chosen or (value is not None and value > (chosen[kind][1] or float("-inf"))):
            chosen[kind] = (key, value)
    return chosen


def best_export(best_cycle: Mapping[str, int], scores: Mapping[str, Mapping[str, float]], metric: str | None) -> str:
    """The one export to use: the best on `metric` of every member's bi- and cross-encoder and each kind's ensemble
    of members; with nothing scored,
    the bi-encoder (it embeds each text once, and it scored above the cross-encoder in every measured run)."""
    chosen = recommended(best_cycle, scores, metric)
    if metric is None:
        return chosen["bi"][0]
    return max(chosen.values(), key=lambda pick: pick[1] if pick[1] is not None else float("-inf"))[0]


def cross_start(config: PipelineConfig, start: H, latest_bi: H) -> H:
    """Where a cycle's cross-encoder starts: the latest bi-encoder (reference), or the start model with `reinit`."""
    return start if config.reinit else latest_bi


def bi_start(config: PipelineConfig, warm: H, cross: H) -> H:
    """Where a cycle's bi-encoder starts: the cross-encoder just trained (reference), or the warm-up with `reinit`.

    Either way the transformer weights move between formulations; a new head or pooling is put on top.
    """
    return warm if config.reinit else cross


def run_cycles(config: PipelineConfig, executor: Executor[H]) -> CycleResult[H]:
    """Warm-up, K cycles of bi -> cross -> bi over every member, and per-cycle scores (`best_cycles` then picks)."""
    names = list(member_names([*config.members, *config.frozen_labellers]).items())  # unique over both
    members, labellers = dict(names[:len(config.members)]), dict(names[len(config.members):])
    single = len(members) == 1
    result: CycleResult[H] = CycleResult(members=dict(members))
    one = lambda call: executor.run([call])[0]  # noqa: E731 - a stage with nothing beside it
    starts = {name: executor.source(source) for name, source in members.items()}
    frozen = {name: (model_kind(source), executor.source(source), source) for name, source in labellers.items()}
    if config.pool == "corpus":
        encoders = {name: (starts[name], source) for name, source in members.items()} | {
            name: (handle, source) for name, (kind, handle, source) in frozen.items() if kind == "bi"}
        pool_output = mine_pool(executor, config, encoders)
    else:
        pool_output = one(StageCall("pool"))
    pool, pairs = pool_output.handle, int(pool_output.metrics["pairs"])
    label = lambda calls: label_pool(executor, calls, pairs, config.shard_pairs)  # noqa: E731

    if config.evaluates:
        start_scores = executor.run([StageCall("scores", None, name, {"model": starts[name]},
                                               StageParams(model=source, kind="bi"))
                                     for name, source in members.items()])
        for name, output in zip(members, start_scores):
            result.scores[ScoreRow.of("bi", None, name, single).label] = dict(output.metrics)
    warm = _by_member(members, executor.run([
        StageCall("warmup", None, name, {"pool": pool, "model": starts[name]}, StageParams(model=source))
        for name, source in members.items()]))
    if config.evaluates and config.warmup != "none":
        warm_scores = executor.run([StageCall("scores", WARM_UP, name, {"model": warm[name]},
                                              StageParams(model=source, kind="bi"))
                                    for name, source in members.items()])
        for name, output in zip(members, warm_scores):
            result.scores[ScoreRow.of("bi", WARM_UP, name, single).label] = dict(output.metrics)
    frozen_labels = {kind: _frozen_labels(label, frozen, kind, pool) for kind in KINDS}
    if config.labellers_join == "both":  # each frozen labeller's scores join both averages
        frozen_labels = {"bi": frozen_labels["bi"] | frozen_labels["cross"],
                         "cross": frozen_labels["cross"] | frozen_labels["bi"]}

    latest_bi = dict(warm)
    for cycle in range(1, config.cycles + 1):
        bi_labels = _by_member(members, label([
            StageCall("bi-labels", cycle, name, {"bi": latest_bi[name], "pool": pool}, StageParams(model=source))
            for name, source in members.items()]))
        averaged = one(_average(cycle, "bi", _scorers("bi", bi_labels) | frozen_labels["bi"])).handle
        cross = _by_member(members, executor.run([
            StageCall("cross", cycle, name, {"start": cross_start(config, starts[name], latest_bi[name]),
                                             "labels": averaged}, StageParams(model=source))
            for name, source in members.items()]))
        cross_labels = _by_member(members, label([
            StageCall("cross-labels", cycle, name, {"cross": cross[name], "pool": pool}, StageParams(model=source))
            for name, source in members.items()]))
        teachers = _scorers("cross", cross_labels) | frozen_labels["cross"]
        if config.distil_from == "all":  # the bi-encoders learn from every scorer of the cycle, bi ones included
            teachers |= _scorers("bi", bi_labels) | frozen_labels["bi"]
        averaged = one(_average(cycle, "cross", teachers)).handle
        latest_bi = _by_member(members, executor.run([
            StageCall("bi", cycle, name, {"start": bi_start(config, warm[name], cross[name]), "labels": averaged},
                      StageParams(model=source)) for name, source in members.items()]))
        models = {"bi": latest_bi, "cross": cross}
        for kind in KINDS:
            for name in members:
                result.models[ScoreRow.of(kind, cycle, name, single).label] = models[kind][name]
        if config.evaluates:
            _score_cycle(config, executor, result, cycle, members, models, single)

    return result


def best_cycles(config: PipelineConfig, result: CycleResult[H]) -> dict[str, int]:
    """Each export's best cycle on the selection set (the last cycle when nothing is scored). With several members,
    each kind's ensemble too, when its best cycle is every member's: then the exported members are its models. An
    ensemble has no search score (its members' vectors are not one index), so --dev-retrieval exports no ensemble."""
    metric, single = selection_metric(config), len(result.members) == 1
    names = [*result.members] + ([] if single else [ENSEMBLE])
    chosen = {}
    for kind in KINDS:
        for name in names:
            labels = {c: ScoreRow.of(kind, c, name, single).label for c in range(1, config.cycles + 1)}
            if name == ENSEMBLE and metric is not None and any(metric not in result.scores[label]
                                                               for label in labels.values()):
                continue
            cycle = config.cycles if metric is None else max(labels, key=lambda c: result.scores[labels[c]][metric])
            if name != ENSEMBLE or all(chosen[ExportKey(kind, member).label] == cycle for member in result.members):
                chosen[ExportKey(kind, None if single else name).label] = cycle
    return chosen


def _by_member(members: Mapping[str, str], outputs: Sequence[StageOutput[H]]) -> dict[str, H]:
    return {name: output.handle for name, output in zip(members, outputs)}


def mine_pool(executor: Executor[H], config: PipelineConfig, encoders: Mapping[str, tuple[H, str]]) -> StageOutput[H]:
    """The pool mined from a corpus: its texts, their embeddings by every start bi-encoder (members and frozen bi
    labellers: neighbours are by their mean cosine), the neighbour search (exact search in blocks of `shard_pairs`
    texts when sharded) and the pairs built from it."""
    corpus_output = executor.run([StageCall("corpus")])[0]
    corpus, texts = corpus_output.handle, int(corpus_output.metrics["texts"])
    embedded = executor.run([StageCall("corpus-embeddings", None, name, {"corpus": corpus, "model": handle},
                                       StageParams(model=source)) for name, (handle, source) in encoders.items()])
    embeddings = {f"bi:{name}": output.handle for name, output in zip(encoders, embedded)}
    block = config.shard_pairs if config.shard_pairs and texts <= config.mine_exact_max else texts
    bounds = [(start, min(start + block, texts)) for start in range(0, texts, block)]
    found = executor.run([StageCall("neighbours", None, None, embeddings,
                                    StageParams(rows=rows if len(bounds) > 1 else None)) for rows in bounds])
    blocks = {f"rows {rows[0]}-{rows[1]}": output.handle for rows, output in zip(bounds, found)}
    return executor.run([StageCall("mine", None, None, {"corpus": corpus, **embeddings, **blocks})])[0]


def label_pool(executor: Executor[H], calls: Sequence[StageCall[H]], pairs: int,
               shard_pairs: int | None) -> list[StageOutput[H]]:
    """Pool labelling calls (bi-labels, cross-labels). With `shard_pairs`, each is split by row range into shards
    that run together (on Ray, on several workers), then one merge per call joins its shards in row order."""
    if not shard_pairs or shard_pairs >= pairs:
        return executor.run(calls)
    bounds = [(start, min(start + shard_pairs, pairs)) for start in range(0, pairs, shard_pairs)]
    shards = executor.run([replace(call, params=replace(call.params, rows=rows)) for call in calls for rows in bounds])
    merges = [StageCall("merge-labels", call.cycle, call.member,
                        {f"rows {rows[0]}-{rows[1]}": output.handle for rows, output in zip(bounds, group)},
                        replace(call.params, labelling=call.stage))
              for call, group in zip(calls, _chunks(shards, len(bounds)))]
    return executor.run(merges)


def _chunks(items: Sequence[StageOutput[H]], size: int) -> list[Sequence[StageOutput[H]]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def _frozen_labels(label: Callable[[list[StageCall[H]]], list[StageOutput[H]]],
                   frozen: Mapping[str, tuple[str, H, str]], kind: str, pool: H) -> dict[str, H]:
    """A frozen labeller's scores never change, so they are computed once (no cycle) and reused every cycle."""
    chosen = {name: (handle, source) for name, (found, handle, source) in frozen.items() if found == kind}
    stage, model_input = ("bi-labels", "bi") if kind == "bi" else ("cross-labels", "cross")
    outputs = label([StageCall(stage, None, name, {model_input: handle, "pool": pool}, StageParams(model=source))
                            for name, (handle, source) in chosen.items()])
    return _scorers(kind, {name: output.handle for name, output in zip(chosen, outputs)})


def _scorers(kind: str, labels: Mapping[str, H]) -> dict[str, H]:
    """Scorer columns are named by the scorer's kind and name: 'bi:minilm-l6', 'cross:minilm-l6'."""
    return {f"{kind}:{name}": handle for name, handle in labels.items()}


def _average(cycle: int, kind: str, labels: Mapping[str, H]) -> StageCall[H]:
    """One labelled-pairs artifact: the mean of the scorers' labels, each scorer kept as a named column."""
    return StageCall("average-labels", cycle, None, dict(labels), StageParams(kind=kind))


def _score_cycle(config: PipelineConfig, executor: Executor[H], result: CycleResult[H], cycle: int,
                 members: Mapping[str, str], models: Mapping[str, Mapping[str, H]], single: bool) -> None:
    """Every member's bi and cross on the benchmarks; with several members, their ensembles too; with
    --dev-retrieval, every member's search scores as well."""
    calls = [StageCall("scores", cycle, name, {"model": models[kind][name]}, StageParams(model=source, kind=kind))
             for kind in KINDS for name, source in members.items()]
    predictions: dict[str, dict[str, H]] = {kind: {} for kind in KINDS}
    for call, output in zip(calls, executor.run(calls)):
        kind, name = call.params.kind, call.member or ""
        result.scores[ScoreRow.of(kind, cycle, name, single).label] = dict(output.metrics)
        predictions[kind][name] = output.handle
    if config.dev_retrieval:
        _score_search(executor, result, cycle, members, models, single)
    if single:
        return
    ensembles = [StageCall("ensemble-scores", cycle, ENSEMBLE, predictions[kind], StageParams(kind=kind))
                 for kind in KINDS]
    for call, output in zip(ensembles, executor.run(ensembles)):
        result.scores[ScoreRow.of(call.params.kind, cycle, ENSEMBLE, single).label] = dict(output.metrics)


def _score_search(executor: Executor[H], result: CycleResult[H], cycle: int, members: Mapping[str, str],
                  models: Mapping[str, Mapping[str, H]], single: bool) -> None:
    """Each member's bi-encoder searches the --dev-retrieval task; its cross-encoder is scored reranking that very
    search, which is how a cross-encoder serves search (it cannot index), so both kinds get nDCG@10 and one metric
    chooses every export. The metrics join the member's score rows."""
    searches = [StageCall("retrieval-scores", cycle, name, {"model": models["bi"][name]},
                          StageParams(model=source, kind="bi")) for name, source in members.items()]
    searched = executor.run(searches)
    reranks = [StageCall("retrieval-scores", cycle, name, {"model": models["cross"][name], "ranking": output.handle},
                         StageParams(model=source, kind="cross"))
               for (name, source), output in zip(members.items(), searched)]
    for kind, outputs in (("bi", searched), ("cross", executor.run(reranks))):
        for name, output in zip(members, outputs):
            result.scores[ScoreRow.of(kind, cycle, name, single).label].update(output.metrics)
