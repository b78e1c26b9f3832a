"""Faults injected into real Prefect runs (the tiny test model), what the user sees, and whether the same command
resumes: docs/FAILURES.md.

    python -m benchmarks.failures            # writes docs/FAILURES.md (minutes: each fault is a run and a rerun)

The same harness as the tests (tests/child_runs.py, tests/test_lost_parts.py); each run starts its own temporary
Prefect server. Needs the STS folder ($STS_DATA_DIR) for the pool's sentences.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from flows.full_cycle import RESULTS_DIR
from tests.child_runs import (
    REPO_ROOT,
    STOP_POOL_PAIRS,
    ChildOutput,
    child_env,
    mid_way,
    stop_mid_stage,
    stop_test_command,
)
from tests.test_damaged_outputs import flip_a_byte
from tests.test_lost_parts import kill_prefect_servers
from tests.test_pipeline import own_pairs
from tests.tiny_model import build_tiny_bert

DOC = REPO_ROOT / "docs" / "FAILURES.md"
NOT_HERE = {
    "SIGKILL while a model is being saved": "tests/test_failures.py (the save's atomic folder is removed; the rerun "
                                            "trains that stage again)",
    "a Ray worker node lost for good mid-stage": "tests/test_lost_parts.py (Ray runs the stage again on the node "
                                                 "left; the run goes on, a rerun takes every stage from the store)",
}


@dataclass
class Outcome:
    fault: str
    returncode: int
    last_line: str
    resumed: str


def last_line(output: list[str] | str) -> str:
    lines = output.splitlines() if isinstance(output, str) else output
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


def rerun(command: list[str], env: dict[str, str], out: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    """The same command again: its exit code, and how many of its stages came from the store."""
    again = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    manifest = json.loads(next(out.glob("cpu-*/manifest.json")).read_text())
    cached = sum(entry["status"] == "cached" for entry in manifest["entries"])
    return again, f"exit {again.returncode}; {cached} of {len(manifest['entries'])} stages cached"


def signal_mid_stage(signal_number: int, stage_kind: str) -> Callable[[list[str], dict[str, str]], tuple[int, str]]:
    def inject(command: list[str], env: dict[str, str]) -> tuple[int, str]:
        stopped = stop_mid_stage(command, env, stage_kind, signal_number)
        return stopped.returncode, stopped.last_line
    return inject


def server_killed_twice(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Killed once it is started again (the run goes on); killed twice, the run ends."""
    run = subprocess.Popen(command, cwd=REPO_ROOT, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output = ChildOutput(run)
    try:
        output.wait_for(lambda line: "starting cycle 1: bi-labels " in line, "the bi-labels stage")
        kill_prefect_servers(run)
        output.wait_for(lambda line: "the run goes on" in line, "the server started again", 120)
        output.wait_for(mid_way("fit cross-encoder"), "the cross-encoder's training mid-way")
        kill_prefect_servers(run)
        returncode = run.wait(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    return returncode, last_line(output.rest())


def after_a_finished_run(damage: Callable[[Path], None]) -> Callable[[list[str], dict[str, str]], tuple[int, str]]:
    """A whole run, then `damage` to its store: what the user sees is the rerun's last line."""
    def inject(command: list[str], env: dict[str, str]) -> tuple[int, str]:
        out = Path(command[command.index("--out") + 1])
        subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900, check=True)
        damage(out)
        return 0, "(the run had finished; the damage is found by the rerun)"
    return inject


def flip_a_byte_in_a_label_file(out: Path) -> None:
    flip_a_byte(next((out / "store").glob("cross-labels/*.parquet")))


def delete_prefect_results(out: Path) -> None:
    shutil.rmtree(out / RESULTS_DIR)


FAULTS: dict[str, Callable[[list[str], dict[str, str]], tuple[int, str]]] = {
    "SIGINT mid-training (cross)": signal_mid_stage(signal.SIGINT, "training"),
    "SIGTERM mid-training (cross)": signal_mid_stage(signal.SIGTERM, "training"),
    "SIGINT mid-labelling (cross-labels)": signal_mid_stage(signal.SIGINT, "labelling"),
    "SIGTERM mid-labelling (cross-labels)": signal_mid_stage(signal.SIGTERM, "labelling"),
    "the temporary Prefect server SIGKILLed twice": server_killed_twice,
    "a flipped byte in a stored label file": after_a_finished_run(flip_a_byte_in_a_label_file),
    f"`{RESULTS_DIR}` deleted": after_a_finished_run(delete_prefect_results),
}


def try_fault(fault: str, model: Path, pool: Path, root: Path) -> Outcome:
    out = Path(tempfile.mkdtemp(dir=root)) / "runs"
    env = {k: v for k, v in child_env(PREFECT_HOME=str(out.parent / "prefect-home")).items()
           if k != "PREFECT_API_URL"}
    command = stop_test_command("flows.full_cycle", model, pool, out)
    returncode, line = FAULTS[fault](command, env)
    again, resumed = rerun(command, env, out)
    if "rerun" in line:  # what the rerun says of the damage, else how it ended
        said = [text.strip() for text in (again.stdout + again.stderr).splitlines() if "its stored output" in text]
        line = f"rerun: {said[0] if said else last_line(again.stderr) or last_line(again.stdout)}"
    return Outcome(fault, returncode, line.replace(str(out), "OUT").replace(str(root), "TMP"), resumed)


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        model = build_tiny_bert(root / "tiny")
        pool = own_pairs(root, Path(os.environ.get("STS_DATA_DIR", "../shared/data/sts")), STOP_POOL_PAIRS, False)
        for fault in FAULTS:
            outcome = try_fault(fault, model, pool, root)
            print(f"{fault}: exit {outcome.returncode}; {outcome.resumed}", flush=True)
            rows.append(f"| {fault} | {outcome.returncode} | `{outcome.last_line.replace('|', '/')}` | "
                        f"{outcome.resumed} |")
    DOC.write_text("\n".join([
        "# What a fault looks like, and whether the same command resumes",
        "",
        f"Written by `python -m benchmarks.failures` from real runs (one cycle, tiny model, a {STOP_POOL_PAIRS:,}-pair "
        "pool, the Prefect runner with its temporary server); do not edit by hand. `OUT` is the run's `--out` folder.",
        "",
        "| fault | exit code | last line the user sees | the same command again |",
        "|---|---|---|---|",
        *rows,
        "",
        "Tried by the tests rather than here:",
        "",
        *(f"- {fault}: {where}" for fault, where in NOT_HERE.items()),
        "",
    ]))


if __name__ == "__main__":
    main()
