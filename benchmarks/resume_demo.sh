#!/usr/bin/env bash
# Real-data resume demo for the `cpu` preset: start a run, SIGKILL it in the middle of the
# cross-encoder fit, rerun the same command (resumes), then rerun once more (fully cached).
# Usage: benchmarks/resume_demo.sh OUT_DIR [extra flow flags...]   (logs land in OUT_DIR/logs)
set -uo pipefail
out=${1:?usage: benchmarks/resume_demo.sh OUT_DIR [flags...]}; shift
cd "$(dirname "$0")/.."
export STS_DATA_DIR=${STS_DATA_DIR:-$PWD/../shared/data/sts} HF_HUB_OFFLINE=1 DO_NOT_TRACK=1 PYTHONUNBUFFERED=1
mkdir -p "$out/logs"
flow=(.venv/bin/python -m flows.full_cycle --preset cpu --out "$out" "$@")

echo "== 1. first run, killed 60 s into 'starting cycle 1: cross'"
"${flow[@]}" >"$out/logs/1-killed.log" 2>&1 &
pid=$!  # the python process itself, so SIGKILL hits the flow mid-stage
until grep -q "starting cycle 1: cross" "$out/logs/1-killed.log"; do sleep 2; done
sleep 60
kill -9 "$pid"; wait "$pid"; echo "killed with SIGKILL (exit $?)"

echo "== 2. same command again: resumes"
start=$(date +%s); "${flow[@]}" >"$out/logs/2-resumed.log" 2>&1; echo "exit $? in $(( $(date +%s) - start )) s"

echo "== 3. same command again: fully cached"
start=$(date +%s); "${flow[@]}" >"$out/logs/3-cached.log" 2>&1; echo "exit $? in $(( $(date +%s) - start )) s"
grep -hE "(ran|cached) +[0-9.]+ s" "$out/logs/2-resumed.log" "$out/logs/3-cached.log" | sed -E 's/^.*Flow run [^-]+- //'
