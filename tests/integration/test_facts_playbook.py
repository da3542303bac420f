"""playbooks/facts.yml against inventory/localhost.yml, with a fake nvidia-smi replaying the H200 captures."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, capture

PLAYBOOK_BIN = Path(sys.executable).parent / "ansible-playbook"

FAKE_SMI = """#!/bin/sh
# Fake nvidia-smi for tests: answers like the H200 box did, or like a broken driver.
case "$FAKE_SMI_MODE:$1" in
  broken:*) echo "Failed to initialize NVML: Driver/library version mismatch"; echo "NVML library version: 580.95"; exit 18 ;;
  h200:-q) cat "$FAKE_SMI_DIR/qx.xml" ;;
  h200:--query-gpu=*) cat "$FAKE_SMI_DIR/query.csv" ;;
  *) echo "fake nvidia-smi: unexpected arguments: $*" >&2; exit 2 ;;
esac
"""


def run_facts(tmp_path, mode, *extra):
    fake_dir = tmp_path / "fakebin"
    fake_dir.mkdir(exist_ok=True)
    smi = fake_dir / "nvidia-smi"
    smi.write_text(FAKE_SMI)
    smi.chmod(0o755)
    (fake_dir / "qx.xml").write_text(capture("nvidia-smi-qx.txt"))
    (fake_dir / "query.csv").write_text(
        "0, NVIDIA H200, GPU-18989197-5caa-e519-572e-d6653fa76ead, 580.159.04, 143771, 9.0, "
        "00000000:00:06.0, Enabled, Disabled\n")
    env = dict(os.environ)
    env.update({
        "PATH": f"{fake_dir}:{env.get('PATH', '')}",
        "FAKE_SMI_MODE": mode,
        "FAKE_SMI_DIR": str(fake_dir),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
    })
    proc = subprocess.run(
        [str(PLAYBOOK_BIN), "-i", str(REPO / "inventory" / "localhost.yml"), str(REPO / "playbooks" / "facts.yml"), *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    tasks = {t["task"]["name"]: t["hosts"]["localhost"] for t in result["plays"][0]["tasks"]}
    return tasks


@pytest.mark.skipif(not PLAYBOOK_BIN.exists(), reason="ansible-playbook is not beside this Python")
def test_facts_playbook_h200_in_check_mode(tmp_path):
    tasks = run_facts(tmp_path, "h200", "--check")
    nvidia = tasks["Gather NVIDIA facts"]["ansible_facts"]["nvidia"]
    assert nvidia["present"] is True
    assert nvidia["gpus"][0]["name"] == "NVIDIA H200"
    lscpu = tasks["Gather CPU and memory facts"]["ansible_facts"]["lscpu"]
    assert lscpu["online_cpus"] == os.cpu_count()  # both count online CPUs (sysconf)
    lines = tasks["Show the summary"]["msg"]
    assert [line.split(":")[0] for line in lines] == [
        "OS", "CPUs", "Build -j", "Memory", "GPU 0", "Driver", "nvcc", "cuDNN"]
    assert "GPU 0:    NVIDIA H200, 143771 MiB, compute 9.0, bus 00000000:00:06.0, persistence on, MIG disabled" in lines
    assert "Driver:   580.159.04, supports CUDA 13.0" in lines
    assert f"Build -j: {lscpu['build_jobs']} (online CPUs, at most one per 1024 MiB available)" in lines
    assert all(not t.get("changed") for t in tasks.values())


@pytest.mark.skipif(not PLAYBOOK_BIN.exists(), reason="ansible-playbook is not beside this Python")
def test_facts_playbook_broken_driver(tmp_path):
    tasks = run_facts(tmp_path, "broken", "-e", "facts_memory_per_job_mb=2048")
    nvidia = tasks["Gather NVIDIA facts"]
    assert nvidia["ansible_facts"]["nvidia"]["present"] is False
    assert any("reboot" in w for w in nvidia.get("warnings", []))
    lines = tasks["Show the summary"]["msg"]
    assert "GPUs:     none (Failed to initialize NVML: Driver/library version mismatch)" in lines
    assert any(line.endswith("at most one per 2048 MiB available)") for line in lines)
