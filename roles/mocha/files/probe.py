# Probe of the mocha role (run with the host's Python, changes nothing): one JSON object with what preflight and
# verify need. argv: the julia to run, the package directory, the stamp of the last passing Pkg.test.
import json
import os
import sys

julia, depot, stamp = sys.argv[1:4]
out = {
    "julia": "executable" if os.path.isfile(julia) and os.access(julia, os.X_OK) else ("present" if os.path.exists(julia) else "missing"),
    "depot": os.path.isdir(depot),
    "test_stamp": "",
}
try:
    with open(stamp) as handle:
        out["test_stamp"] = handle.read().strip()
except OSError:
    pass
print(json.dumps(out))
