"""The cifar10 role's preflight run by ansible-playbook: an environment key with a trailing newline is refused (its
check is anchored at the end of the text, never at '$'), an ordinary environment passes."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: {root}/roles/cifar10
        tasks_from: preflight
"""


def run_cifar10_preflight(tmp_path, environment):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(root=REPO))
    extra = {"cifar10_environment": environment, "cifar10_dir": str(tmp_path / "c"), "ansible_python_interpreter": sys.executable}
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", str(play),
                          "-e", json.dumps(extra)], capture_output=True, text=True, cwd=REPO, check=False,
                         env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1"))
    return run.returncode, " ".join(run.stdout.split())


def test_cifar10_environment_key_with_a_newline_is_refused(tmp_path):
    """environment.sh writes KEY=value lines that a shell sources: a key "x\\n" would run as a command."""
    _, flat = run_cifar10_preflight(tmp_path, {"MOCHA_USE_NATIVE_EXT": "true", "MOCHA_CUDA_DEVICE": "0"})
    assert re.search(r"cifar10 : Check the training settings [^\]]*\] \*+ ok: \[localhost\]", flat), flat[-3000:]
    rc, flat = run_cifar10_preflight(tmp_path, {"MOCHA_USE_NATIVE_EXT": "true", "x\n": "1"})
    assert rc != 0
    assert re.search(r"cifar10 : Check the training settings [^\]]*\] \*+ \[ERROR\]", flat), flat[-3000:]
    assert "cifar10_environment (default: the mocha role's fact mocha_environment) a mapping of variable names to values" in flat, flat[-3000:]
