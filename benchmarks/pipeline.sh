#!/usr/bin/env bash
# Pipeline benchmark: wall time of the offline pipeline's first and second run of site.yml
# (moto + a podman container playing the instance; see tests/pipeline/run_pipeline.py).
# Target: the second run takes no more than 20% of the first, with changed=0.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
./scripts/setup --dev >/dev/null
./scripts/molecule-prereqs >/dev/null
export PATH="$here/.venv/bin:$PATH" CONTAINERS_CONF="$here/molecule/containers.conf"
python tests/pipeline/run_pipeline.py "$@" | tee /tmp/mocha-cloud-pipeline-bench.log | grep -E '^(PASS|FAIL|pipeline:)'
