# Probe of the mocha role (run with the host's Python, changes nothing): one JSON object with what preflight and
# verify need. argv: the julia to run, the package directory, the stamp of the last passing Pkg.test, the directory
# of the Pkg jobs (each <dir>/<step>/ with a jobctl that holds <step>/job.lock while it runs).
import fcntl
import json
import os
import sys

julia, depot, stamp, jobs = sys.argv[1:5]
out = {
    "julia": "executable" if os.path.isfile(julia) and os.access(julia, os.X_OK) else ("present" if os.path.exists(julia) else "missing"),
    "depot": os.path.isdir(depot),
    "test_stamp": "",
    "pkg_jobs_running": [],
}
try:
    with open(stamp) as handle:
        out["test_stamp"] = handle.read().strip()
except OSError:
    pass
for step in sorted(os.listdir(jobs)) if os.path.isdir(jobs) else []:
    lock = os.path.join(jobs, step, "job.lock")
    try:
        with open(lock, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)  # jobctl's run holds it for as long as the job lives
    except BlockingIOError:
        out["pkg_jobs_running"].append(step)
    except OSError:
        pass
print(json.dumps(out))
