# Probe of mocha.cloud.common files (run with the host's Python, changes nothing): for each path in argv that is a
# regular file, its sha1 checksum and mode, as one JSON object {"files": [{path, checksum, mode}]}, the shape of
# ansible.builtin.find's answer. A path whose directory does not exist yet is simply not there (find would warn).
import hashlib
import json
import os
import stat
import sys

files = []
for path in sys.argv[1:]:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            continue
        digest = hashlib.sha1()  # nosec - the same checksum as find's get_checksum
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 16), b""):
                digest.update(block)
    except OSError:
        continue
    files.append({"path": path, "checksum": digest.hexdigest(), "mode": f"{stat.S_IMODE(info.st_mode):04o}"})
print(json.dumps({"files": files}))
