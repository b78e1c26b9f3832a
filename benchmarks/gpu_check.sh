#!/usr/bin/env bash
# The GPU paths checked on one CUDA machine in under 10 minutes (CI has no GPU): the cuda-marked tests, a small
# minilm-l6 cycle in bf16 and in fp16 scored on the STS benchmarks, benchmarks/speed.py on the GPU, and a short
# `paper`-preset run. Each command's line, exit code and seconds, the scores and stage times of the runs, the GPU
# (nvidia-smi), the commit and the date go to gpu_check.md under $OUT when set, else under benchmarks/.
#
#     STS_DATA_DIR=../shared/data/sts bash benchmarks/gpu_check.sh        # PYTHON=... to use another interpreter
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python)}
DIR=${OUT:-benchmarks}
WORK=$(mktemp -d)
REPORT="$DIR/gpu_check.md"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" TE_EMBEDDING_CACHE=off DO_NOT_TRACK=1
: "${STS_DATA_DIR:?set STS_DATA_DIR to the STS folder (laid out like ../shared/data/sts)}"
mkdir -p "$DIR"
FAILED=0

# a small cycle: minilm-l6 on 512 STS-B pairs, no warm-up, 30 steps per training, scored on the STS benchmarks
SMALL=(--model minilm-l6 --labellers "" --pool stsb --max-pairs 512 --warmup none --cycles 1 --max-steps 30
       --eval sts --device cuda)

{
  echo "# GPU check"
  echo
  echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%M:%SZ)," \
       "$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  echo
  echo "| command | exit | seconds |"
  echo "|---|---|---|"
} > "$REPORT"

step() {  # runs a command, logs it to $WORK/log, and adds its line, exit code and seconds to the report
  local started=$SECONDS rc=0
  "$@" >> "$WORK/log" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || FAILED=1
  echo "| \`${*//|/\\|}\` | $rc | $((SECONDS - started)) |" >> "$REPORT"
}

runs_figures() {  # the scores, stage seconds and fp16 overflow skips of every run folder under $1
  "$PYTHON" - "$1" >> "$REPORT" <<'EOF'
import json
import sys
from pathlib import Path

for manifest_path in sorted(Path(sys.argv[1]).glob("*/*/manifest.json")):
    manifest = json.loads(manifest_path.read_text())
    print(f"\n## {manifest_path.parent.parent.name}\n")
    for row, scores in manifest.get("scores", {}).items():
        print(f"- {row}: " + ", ".join(f"{name} {value:.2f}" if isinstance(value, float) else f"{name} {value}"
                                     for name, value in scores.items()))
    for entry in manifest["entries"]:
        skips = entry["metrics"].get("overflow_skips")
        print(f"- {entry['title']}: {entry['status']}, {entry['seconds']} s"
              + (f", {skips} of {entry['metrics']['steps']} steps skipped by the grad scaler" if skips else ""))
EOF
}

step "$PYTHON" -m pytest -q -m cuda tests/test_cuda.py
for precision in bf16 fp16; do
  step "$PYTHON" -m flows.plain "${SMALL[@]}" --precision "$precision" --out "$WORK/runs/small-$precision"
done
step "$PYTHON" -m benchmarks.speed --device cuda --rounds 1 --pairs 1000 --scoring-pairs 5000 \
  --json "$DIR/gpu_speed.json" --out "$DIR/gpu_speed.md"
step "$PYTHON" -m flows.plain --preset paper --labellers "" --max-pairs 2000 --cycles 2 --warmup-sentences 2000 \
  --device cuda --out "$WORK/runs/paper"

runs_figures "$WORK/runs"
[ -f "$DIR/gpu_speed.json" ] && { echo; echo "## benchmarks.speed on cuda"; echo; cat "$DIR/gpu_speed.md"; } >> "$REPORT"
{ echo; echo "## log (last 40 lines)"; echo; echo '```'; tail -40 "$WORK/log"; echo '```'; } >> "$REPORT"
echo "wrote $REPORT"
exit "$FAILED"
