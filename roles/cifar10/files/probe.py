# Probe of the cifar10 role (run with the host's Python, changes nothing): one JSON object with what the later
# phases need. argv: julia, run dir, jobctl, the extracted marker file, then the data directories.
import json
import os
import subprocess
import sys

julia, run_dir, ctl, extracted, dirs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
out = {
    "julia": os.path.isfile(julia) and os.access(julia, os.X_OK),
    "missing_dirs": [d for d in dirs if not os.path.isdir(d)],
    "extracted": os.path.isfile(extracted),
    "run_id": "",
    "job": None,
    "latest_snapshot": None,
}
try:
    with open(os.path.join(run_dir, "run_id")) as handle:
        out["run_id"] = handle.read().strip()
except OSError:
    pass
snapshots = os.path.join(run_dir, "snapshots")
# snapshot-<ASCII digits>.jld, the whole name (the collection's snapshot_state.SNAPSHOT_NAME).
names = [n for n in (os.listdir(snapshots) if os.path.isdir(snapshots) else [])
         if n.startswith("snapshot-") and n.endswith(".jld") and n[9:-4].isascii() and n[9:-4].isdigit()]
if names:
    out["latest_snapshot"] = max(names, key=lambda n: int(n[9:-4]))
if os.access(ctl, os.X_OK):
    # errors="replace": the status carries the job log's last line, which may hold bytes that are not UTF-8.
    answer = subprocess.run([ctl, "status"], capture_output=True, text=True, errors="replace", check=False).stdout.strip().splitlines()
    if answer:
        out["job"] = json.loads(answer[-1])
print(json.dumps(out))
