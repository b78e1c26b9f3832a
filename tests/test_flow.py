"""The Prefect flow against a real local server: caching, corruption, injected failure + retry, SIGKILL + rerun."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sentence_transformers

import pipeline.registry
from flows.full_cycle import RESULTS_DIR, full_cycle
from models.data import with_evaluation
from pipeline.presets import preset as make_preset
from pipeline.run import plan_run
from tests.child_runs import ChildOutput, mid_way, running
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.server]


def settings(model: Path, data: Path, **changes: Any) -> dict[str, Any]:
    base = dict(model=str(model), labellers="", onnx_export=False,
                data_dir=str(data), pool="stsb", max_pairs=48, warmup="mirror",
                cycles=2, max_steps=3, warmup_batch_size=16, bi_batch_size=16, cross_batch_size=16, eval_batch_size=256,
                device="cpu")
    return base | changes


def start_cli(params: dict[str, Any], out: Path) -> tuple[list[str], dict[str, str], subprocess.Popen[str]]:
    """`python -m flows.full_cycle` with these settings as flags, started with its output piped."""
    command = [sys.executable, "-m", "flows.full_cycle", "--out", str(out)]
    for name, value in params.items():
        flag = name.replace("_", "-")
        if isinstance(value, bool):  # a switch: --name or --no-name
            command.append(f"--{flag}" if value else f"--no-{flag}")
        elif value is not None:
            command += [f"--{flag}", str(value)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return command, env, subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True)


def statuses(result: dict[str, Any]) -> dict[tuple[str, int | None], list[str]]:
    found: dict[tuple[str, int | None], list[str]] = {}
    for stage, cycle, status, _seconds in result["stages"]:
        found.setdefault((stage, cycle), []).append(status)
    return found


def test_rerun_is_fully_cached_and_a_corrupted_artifact_is_recomputed(
        prefect_server: str, tiny_model_dir: Path, mini_sts_dir: Path, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    params = settings(tiny_model_dir, mini_sts_dir)
    first = full_cycle(settings=params, out=str(tmp_path))
    assert {s for _, _, s, _ in first["stages"]} == {"ran"}
    run_dir = Path(first["run_dir"])
    for kind in ("bi-encoder", "cross-encoder"):
        assert "Start model" in (run_dir / kind / "README.md").read_text()
    sentence_transformers.SentenceTransformer(str(run_dir / "bi-encoder"), device="cpu")
    sentence_transformers.CrossEncoder(str(run_dir / "cross-encoder"), device="cpu")
    assert (run_dir / "scores.png").stat().st_size > 0

    second = full_cycle(settings=params, out=str(tmp_path))
    assert {s for _, _, s, _ in second["stages"]} == {"cached"}
    assert second["scores"] == first["scores"]

    manifest = json.loads((run_dir / "manifest.json").read_text())
    labels = next(Path(e["path"]) for e in manifest["entries"] if e["stage"] == "cross-labels" and e["cycle"] == 2)
    labels.write_bytes(labels.read_bytes()[:-7] + b"garbage")
    caplog.clear()
    third = statuses(full_cycle(settings=params, out=str(tmp_path)))
    assert third[("cross-labels", 2)] == ["ran"], "a stored artifact that fails its digest is recomputed"
    said = [r.getMessage() for r in caplog.records if "its stored output" in r.getMessage()]  # log_prints: a record
    assert said == [f"cycle 2: cross-labels [{tiny_model_dir.name}]: its stored output {labels} changed since it was "
                    "stored (its sha256 no longer matches its record); running it again"], said
    assert third[("cross", 2)] == ["cached"]

    other = full_cycle(settings=params | {"label_transform": "clip"}, out=str(tmp_path))
    assert Path(other["run_dir"]) != run_dir
    assert statuses(other)[("bi-labels", 1)] == ["ran"], "other settings never pick up another run's files"
    assert statuses(other)[("warmup", None)] == ["cached"], "stages the setting does not touch are shared"


def test_without_prefects_results_folder_a_rerun_takes_every_verified_output_from_the_store(
        prefect_server: str, tiny_model_dir: Path, mini_sts_dir: Path, tmp_path: Path) -> None:
    params = settings(tiny_model_dir, mini_sts_dir, cycles=1)
    first = full_cycle(settings=params, out=str(tmp_path))
    assert {s for _, _, s, _ in first["stages"]} == {"ran"}
    shutil.rmtree(tmp_path / RESULTS_DIR)  # Prefect's records of every task's result are gone; the store is not

    config = with_evaluation(make_preset("cpu", **params))
    assert {stage.status for stage in plan_run("cpu", config, tmp_path)} == {"cached"}
    second = full_cycle(settings=params, out=str(tmp_path))
    assert {s for _, _, s, _ in second["stages"]} == {"cached"}, "no stage ran again, no training happened"
    assert second["scores"] == first["scores"]


def test_injected_failure_then_prefect_retry_resumes_from_the_failed_stage(
        prefect_server: str, tiny_model_dir: Path, mini_sts_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = pipeline.registry.STAGES["bi"]

    def failing_in_cycle_2(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("injected failure in cycle 2")
        return real.run(*args, **kwargs)

    monkeypatch.setitem(pipeline.registry.STAGES, "bi", dataclasses.replace(real, run=failing_in_cycle_2))
    state = full_cycle(settings=settings(tiny_model_dir, mini_sts_dir), out=str(tmp_path), return_state=True)
    assert state.is_failed()
    flow_run_id = str(state.state_details.flow_run_id)
    monkeypatch.undo()

    retry = subprocess.run([str(Path(sys.executable).parent / "prefect"), "flow-run", "retry", flow_run_id,
                            "--entrypoint", "flows/full_cycle.py:full_cycle"],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert retry.returncode == 0, retry.stdout + retry.stderr
    manifest = json.loads(next(tmp_path.glob("cpu-*/manifest.json")).read_text())
    status = {(e["stage"], e["cycle"]): e["status"] for e in manifest["entries"]}
    assert status[("bi", 1)] == "cached" and status[("cross-labels", 2)] == "cached"
    assert status[("bi", 2)] == "ran"
    assert manifest["exports"], "the retried run finished and exported its models"


def test_sigkill_in_one_members_stage_resumes_without_redoing_the_other_members(
        prefect_server: str, tiny_models: dict[str, Path], mini_sts_dir: Path, tmp_path: Path) -> None:
    """SIGKILL mid-stage, the same command again: every stage sealed before the kill is taken as cached (the pool,
    the warm-ups, the labels, the other member's finished cross-encoder) and only the killed stage and those after it
    run. Single-member runs resume the same way after SIGINT/SIGTERM mid-stage (test_stop_signals.py) and after
    SIGKILL during a model save (test_failures.py)."""
    params = settings(tiny_models["bert32"], mini_sts_dir, cycles=1, max_steps=None,
                      cross_epochs=20, models=f"{tiny_models['bert32']},{tiny_models['bert48']}")
    command, env, first = start_cli(params, tmp_path)
    output = ChildOutput(first)
    output.wait_for(lambda line: "cycle 1: cross [bert32]" in line and " ran " in line, "bert32's finished cross stage")
    # bert32's bar closed before bert48's ran
    output.wait_for(mid_way("fit cross-encoder"), "bert48's cross-encoder training step")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL, "".join(output.seen[-30:])
    sealed = {str(p.with_name(p.name.removesuffix(".sha256"))) for p in (tmp_path / "store").rglob("*.sha256")}

    second = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    manifest = json.loads(next(tmp_path.glob("cpu-*/manifest.json")).read_text())
    status = {(e["stage"], e["cycle"], e["member"]): e["status"] for e in manifest["entries"]}
    assert status[("cross", 1, "bert32")] == "cached", "the other member's finished stage is not redone"
    assert status[("cross", 1, "bert48")] == "ran", "the killed member's stage runs again"
    assert all(e["status"] == "cached" for e in manifest["entries"] if e["path"] in sealed)
    assert {"bert32 bi", "bert48 bi", "bert32 cross", "bert48 cross"} == set(manifest["exports"])


def test_a_killed_run_leaves_no_prefect_server_behind(tiny_model_dir: Path, mini_sts_dir: Path,
                                                      tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {
        "PYTHONUNBUFFERED": "1", "PREFECT_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "flows.full_cycle", "--out", str(tmp_path), "--model", str(tiny_model_dir),
               "--labellers", "", "--no-onnx-export",
               "--data-dir", str(mini_sts_dir), "--pool", "stsb", "--max-pairs", "48",
               "--cross-epochs", "500", "--cross-batch-size", "16", "--bi-batch-size", "16", "--device", "cpu"]
    run = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert run.stdout is not None
    for line in run.stdout:
        if "starting cycle 1: cross" in line:
            break
    children = subprocess.run(["pgrep", "-P", str(run.pid)], capture_output=True, text=True).stdout.split()
    servers = [pid for pid in children if "uvicorn" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert servers, "the run talks to a temporary server of its own"
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(map(running, servers)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(map(running, servers)), "the server died with the run"


def test_own_pairs_offline_with_no_sts_folder_run_from_the_command_line(
        prefect_server: str, tiny_model_dir: Path, sts_dir: Path, tmp_path: Path) -> None:
    from tests.test_pipeline import own_pairs

    pool, dev = own_pairs(tmp_path, sts_dir, 48, False), own_pairs(tmp_path, sts_dir, 60, True)
    with pool.open("a") as rows:  # an empty answer, and the first pair again in the other order
        first = pd.read_csv(pool).iloc[0]
        rows.write(f'"where is my order",\n"{first.answer}","{first.question}"\n')
    env = {k: v for k, v in os.environ.items() if k != "STS_DATA_DIR"} | {"HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "flows.full_cycle", "--out", str(tmp_path / "runs"),
                           "--model", str(tiny_model_dir), "--labellers", "", "--no-onnx-export",
                           "--pool", "custom", "--pool-path",
                           str(pool), "--text-a", "question", "--text-b", "answer", "--dev-pairs", str(dev),
                           "--label-column", "score", "--max-steps", "2", "--bi-batch-size", "16",
                           "--bi-max-length", "32", "--cross-max-length", "48",  # the pool's longest exceed them
                           "--device", "cpu"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    told = [line for line in done.stderr.splitlines() if line.startswith("note: ")]
    assert told[0] == (f"note: {pool}: dropped 1 row(s) with an empty or non-text sentence (data rows 49; --strict "
                       "makes that an error); removed 1 repeated pair(s) (exact or a-b / b-a)")
    assert re.fullmatch(r"note: tiny-bert\d: [\d,]+ of [\d,]+ distinct sentences are longer than 32 tokens and will be "
                        r"cut for the bi-encoder \(--bi-max-length\); .* \(--cross-max-length\).*", told[1])
    run_dir = next((tmp_path / "runs").glob("cpu-*"))
    assert json.loads((run_dir / "manifest.json").read_text())["notes"] == [line[6:] for line in told]
    summary = (run_dir / "summary.md").read_text()
    assert all(line[6:] in summary for line in told), "the summary says it too"
    assert "Best cycle on own dev (--dev-pairs)" in summary and "SentenceTransformer(" in summary
    assert "STS12" not in summary, "no benchmark was read or fetched"
