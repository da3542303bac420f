"""The role cuda end to end on its verify path, on this machine, with a fake nvidia-smi.

The fake nvidia-smi (written by the test, tests only) answers with the real captures of the lent H200 box;
nvcc is the real CUDA 13.0 compiler where this machine has one. The role must take the verify path with
changed=0 and publish the box's facts; with the self-test on, it must compile the sample with the real nvcc
and stop with the sample's own "no device" answer, since there is no GPU here.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO

BOX = FIXTURES / "gpu-box-ubuntu2404-h200"
NVCC = next((str(p) for p in sorted(Path("/usr/local").glob("cuda-13*/bin/nvcc"))), None)
PLAYBOOK = REPO / "molecule" / "cuda" / "gpu-box.yml"

FAKE_SMI = r'''#!{python}
"""FAKE nvidia-smi for tests: replays captures of the lent H200 box."""
import sys
from pathlib import Path
BOX = Path({box!r})
COLUMNS = ["index", "name", "uuid", "driver_version", "memory.total", "compute_cap", "pci.bus_id",
           "pcie.link.gen.max", "power.limit", "temperature.gpu", "utilization.gpu"]
EXTRA = {{"persistence_mode": "Enabled", "mig.mode.current": "Disabled"}}

def body(name):
    return "\n".join((BOX / name).read_text().splitlines()[1:-1]) + "\n"

args = sys.argv[1:]
if args == ["-q", "-x"]:
    sys.stdout.write(body("nvidia-smi-qx.txt"))
elif args and args[0].startswith("--query-gpu="):
    row = dict(zip(COLUMNS, [v.strip() for v in body("nvidia-smi-query.txt").strip().split(",")]))
    row.update(EXTRA)
    print(", ".join(row.get(f, "[N/A]") for f in args[0].split("=", 1)[1].split(",")))
elif args == ["-L"]:
    sys.stdout.write(body("nvidia-smi-L.txt"))
elif args == ["--version"]:
    sys.stdout.write(body("nvidia-smi-version.txt"))
elif not args:
    sys.stdout.write(body("nvidia-smi.txt"))
else:
    sys.stderr.write("fake nvidia-smi: unsupported arguments %r\n" % (args,))
    sys.exit(2)
'''

pytestmark = pytest.mark.skipif(NVCC is None or shutil.which("ansible-playbook") is None and
                                not (Path(sys.executable).parent / "ansible-playbook").exists(),
                                reason="needs a CUDA 13 nvcc under /usr/local and ansible-playbook")


@pytest.fixture(scope="module")
def fake_env(tmp_path_factory):
    bindir = tmp_path_factory.mktemp("fakebin")
    smi = bindir / "nvidia-smi"
    smi.write_text(FAKE_SMI.format(python=sys.executable, box=str(BOX)))
    smi.chmod(0o755)
    (bindir / "nvcc").symlink_to(NVCC)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(bindir), str(Path(sys.executable).parent), env.get("PATH", "/usr/bin:/bin")])
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["MOCHA_CLOUD_SETTINGS"] = "none"  # the role alone: not the checkout's settings.yml
    env["ANSIBLE_FORCE_COLOR"] = "false"
    env["ANSIBLE_NOCOLOR"] = "true"
    return env


def _play(env, *extra):
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=" + sys.executable, str(PLAYBOOK), *extra]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=600)


def test_verify_path_changes_nothing_and_publishes_the_box_facts(fake_env):
    res = _play(fake_env, "-e", "cuda_selftest=false")  # a string "false", as users type it
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    out = " ".join(res.stdout.split())  # the YAML callback wraps long lines
    assert "cuda: path=verify: NVIDIA H200 (compute 9.0, Hopper): driver 580.159.04 (CUDA 13.0) and nvcc 13.0" in out
    recap = [line for line in res.stdout.splitlines() if line.startswith("localhost")][-1]
    assert "changed=0" in recap and "failed=0" in recap, recap
    for expected in ("cuda_path_taken: verify", "cuda_gpu_present: true", "cuda_driver_version: 580.159.04",
                     "cuda_version: '13.0'", "cuda_home: " + str(Path(NVCC).resolve().parent.parent),
                     "cuda_nvcc_path: " + str(Path(NVCC).resolve())):
        assert expected in out, expected
    assert "NVIDIA-SMI 580.159.04" in out  # nvidia-smi ran
    assert "Cuda compilation tools, release 13.0" in out  # nvcc --version ran


def test_verify_path_compiles_and_runs_the_selftest(fake_env):
    res = _play(fake_env)
    out = " ".join(res.stdout.split())
    # no GPU here: the sample compiles with the real nvcc, runs, and says so itself (exit 2)
    assert res.returncode != 0
    assert "Compile and run the self-test" in out
    assert "NO_DEVICE" in out and "rc: 2" in out, out[-4000:]
    assert "SELFTEST PASSED" not in out
