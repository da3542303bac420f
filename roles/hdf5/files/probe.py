# Probe of the hdf5 role (run with the host's Python, changes nothing): one JSON object with what install and verify
# need. argv: the python to check h5py with ("" to skip), then the wanted package names.
import json
import os
import re
import shutil
import subprocess
import sys


def run(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, check=False, env=dict(os.environ, LC_ALL="C"))
    except OSError:
        return 127, ""
    return p.returncode, p.stdout + p.stderr


python, wanted = sys.argv[1], sys.argv[2:]
installed = set()
if shutil.which("dpkg-query") and wanted:
    for line in run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n"] + wanted)[1].splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] == "installed":
            installed.add(fields[0])
elif shutil.which("rpm") and wanted:
    for line in run(["rpm", "-q", "--qf", "%{NAME} installed\n"] + wanted)[1].splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] == "installed":
            installed.add(fields[0])
out = {"missing": [name for name in wanted if name not in installed], "h5dump": "", "h5py": None, "julia_libraries": []}
rc, text = run(["h5dump", "-V"])
out["h5dump"] = text.strip() if rc == 0 else ""
if python:
    rc, text = run([python, "-c", "import h5py, numpy; print(h5py.version.hdf5_version, h5py.version.version, numpy.__version__)"])
    parts = text.split()
    if rc == 0 and len(parts) == 3:
        out["h5py"] = {"hdf5": parts[0], "h5py": parts[1], "numpy": parts[2]}
# HDF5.jl 0.9 (the HDF5 dependency of Mocha) dlopens libhdf5, libhdf5_serial, libhdf5_openmpi or libhdf5_mpich by
# their unversioned names, which only the -dev package provides: list those the loader finds (its cache can outlive
# a removed package, so each file is checked).
ldconfig = shutil.which("ldconfig") or ("/sbin/ldconfig" if os.path.exists("/sbin/ldconfig") else None)
if ldconfig:
    for line in run([ldconfig, "-p"])[1].splitlines():
        m = re.match(r"^\s*(libhdf5(?:_serial|_openmpi|_mpich)?\.so) .*=> (\S+)$", line)
        if m and os.path.exists(m.group(2)) and m.group(1) not in out["julia_libraries"]:
            out["julia_libraries"].append(m.group(1))
print(json.dumps(out))
