"""mocha.cloud.helper_files through Ansible (ansible-playbook on localhost): the helpers travel packed with the module
(AnsiballZ), arrive as the collection's files byte for byte, a second run and check mode change nothing, and the state
keeper runs from that directory alone (python3 -I: no PYTHONPATH, no collection) and reads a Mocha v0.3.1 log."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Write the keeper's helpers
      mocha.cloud.helper_files:
        dest: "{dest}"
        names: [mocha_log, run_legs, snapshot_state]
"""
NAMES = ("mocha_log", "run_legs", "snapshot_state")


def playbook(tmp_path, dest, *flags):
    book = tmp_path / "play.yml"
    book.write_text(PLAY.format(dest=dest))
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", str(book),
                          "-e", json.dumps({"ansible_python_interpreter": sys.executable}), *flags],
                         capture_output=True, text=True, cwd=REPO, check=False, timeout=300,
                         env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1"))
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def changed(out):
    return int(out.split("changed=")[1].split()[0])


def test_the_keeper_runs_from_what_the_module_wrote(tmp_path):
    keeper_dir = tmp_path / "run" / "keeper"
    out = playbook(tmp_path, keeper_dir, "--check", "--diff")
    assert changed(out) == 1 and not keeper_dir.exists() and "+# -*- coding: utf-8 -*-" in out
    assert changed(playbook(tmp_path, keeper_dir)) == 1
    for name in NAMES:
        assert (keeper_dir / f"{name}.py").read_bytes() == (REPO / "plugins" / "module_utils" / f"{name}.py").read_bytes()
    assert changed(playbook(tmp_path, keeper_dir)) == 0
    assert changed(playbook(tmp_path, keeper_dir, "--check")) == 0
    assert sorted(os.listdir(keeper_dir)) == [f"{name}.py" for name in NAMES]

    # The keeper beside them, as the role installs it, once over a training that ended: it resumed from snapshot 400
    # (Mocha v0.3.1's log says so) and logged up to 800.
    shutil.copy(REPO / "roles" / "cifar10" / "files" / "state_keeper.py", keeper_dir)
    run_dir = tmp_path / "run"
    (run_dir / "training.log").write_text(
        "[jobctl 2026-12-02T00:29:19Z] starting cifar10: julia cifar10.jl (via nohup)\n"
        "Configuring Mocha...\n"
        "[2026-12-02 00:29:25 | info | Mocha]: Constructing net CIFAR10-train on Mocha.CPUBackend...\n"
        f"[2026-12-02 00:29:30 | info | Mocha]: Loading existing model from {run_dir}/snapshots/snapshot-000400.jld\n"
        "[2026-12-02 00:29:31 | info | Mocha]:  TRAIN iter=000400 obj_val=1.20000000\n"
        "[2026-12-02 00:30:31 | info | Mocha]:  TRAIN iter=000800 obj_val=1.10000000\n")
    ctl = tmp_path / "jobctl"
    ctl.write_text('#!/bin/sh\necho \'{"running": false, "state": "finished at 2026-12-02T00:31:00Z", "started_at": 1764635359}\'\n')
    ctl.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "ANSIBLE"))}
    done = subprocess.run([sys.executable, "-I", str(keeper_dir / "state_keeper.py"), "once", "--run-dir", str(run_dir),
                           "--run-id", "r1", "--ctl", str(ctl), "--leg-started-at", "2026-12-02T00:29:00Z"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    (leg,) = json.loads((run_dir / "legs.json").read_text())["legs"]
    assert (leg["start_iteration"], leg["end_iteration"], leg["end"]) == (400, 800, "finished")
    assert leg["started_at"] == "2026-12-02T00:29:00Z"
