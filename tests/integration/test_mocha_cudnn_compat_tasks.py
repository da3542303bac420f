"""roles/mocha/tasks/cudnn_compat.yml run for real on this machine (no GPU) under a scratch dir.

The library is built with gcc against the wheel headers (see tests/unit/roles/test_mocha_cudnn5compat.py); the
self-test cannot pass without a GPU, so the fact must say so, a second run must change
nothing, and mocha_backend=gpu must stop the play with the harness's reason.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.mocha.cloud.tests.unit.roles.test_mocha_cudnn5compat import ROOT, headers  # noqa: F401  (the session fixture)

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Run the compat tasks of the mocha role
      ansible.builtin.include_role:
        name: {root}/roles/mocha
        tasks_from: cudnn_compat
    - name: Show the fact
      ansible.builtin.copy:
        content: "{{{{ mocha_cudnn_compat | to_json }}}}"
        dest: "{{{{ out_file }}}}"
        mode: "0644"
"""


def run_play(tmp_path, extra, check=False):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(root=ROOT))
    # The venv's ansible-playbook (beside this Python), never whichever one PATH finds first.
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", str(play), "-e", json.dumps(extra)]
    if check:
        cmd.append("--check")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", MOCHA_CLOUD_SETTINGS="none")
    return subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, timeout=600)


@pytest.fixture()
def extra(tmp_path, headers):  # noqa: F811
    cudnn_inc, cuda_inc = headers
    return {
        "mocha_cudnn_compat_dir": str(tmp_path / "compat"),
        "mocha_cudnn_compat_cudnn_include": str(cudnn_inc),
        "cuda_home": str(Path(cuda_inc).parent),
        "mocha_install_build_tools": False,
        "mocha_backend": "auto",
        "out_file": str(tmp_path / "fact.json"),
        "ansible_python_interpreter": sys.executable,
    }


def test_builds_selftests_and_is_idempotent(tmp_path, extra):
    first = run_play(tmp_path, extra)
    assert first.returncode == 0, first.stdout[-3000:]
    fact = json.loads((tmp_path / "fact.json").read_text())
    assert fact["built"] is True
    assert fact["selftest_passed"] is False  # no GPU here
    assert "harness failed" in fact["reason"] and "SKIP" in fact["reason"]
    assert fact["libdir"] == extra["mocha_cudnn_compat_dir"] + "/lib"
    assert (Path(fact["libdir"]) / "libcudnn.so").exists()
    assert (Path(extra["mocha_cudnn_compat_dir"]) / "bin" / "cudnn5compat-harness").exists()

    second = run_play(tmp_path, extra)
    assert second.returncode == 0, second.stdout[-3000:]
    recap = [line for line in second.stdout.splitlines() if line.startswith("localhost")][-1]
    assert "changed=0 " in recap, recap  # no rebuild, no re-run, same fact
    assert json.loads((tmp_path / "fact.json").read_text()) == fact


def test_forced_gpu_stops_with_the_reason(tmp_path, extra):
    extra["mocha_backend"] = "gpu"
    proc = run_play(tmp_path, extra)
    assert proc.returncode != 0
    assert "mocha_backend=gpu needs the cuDNN 5 compatibility library" in proc.stdout
    assert "failed its self-test" in proc.stdout


def test_check_mode_changes_nothing(tmp_path, extra):
    proc = run_play(tmp_path, extra, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not (tmp_path / "compat").exists()
