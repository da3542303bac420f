# Probe of the julia_build role (run with the host's Python, changes nothing): one JSON object with what the decision
# and the later phases need. argv: the versioned julia binary, the build's jobctl, the symlink ("" for none), the stamp.
import json
import os
import subprocess
import sys

binary, ctl, link, stamp = sys.argv[1:5]
out = {"binary": os.path.isfile(binary) and os.access(binary, os.X_OK), "job": None, "running": False, "link": "",
       "version_out": "", "stamp": {}}
if os.access(ctl, os.X_OK):
    # errors="replace": the status carries the job log's last line, which may hold bytes that are not UTF-8.
    answer = subprocess.run([ctl, "status"], capture_output=True, text=True, errors="replace", check=False).stdout.strip().splitlines()
    if answer:
        out["job"] = json.loads(answer[-1])
        out["running"] = bool(out["job"].get("running"))
if link and os.path.islink(link):
    out["link"] = os.readlink(link)
if out["binary"]:
    run = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    out["version_out"] = run.stdout.strip()
try:
    with open(stamp) as handle:
        out["stamp"] = json.load(handle)
except (OSError, ValueError):
    pass
print(json.dumps(out))
