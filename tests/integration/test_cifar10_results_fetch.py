"""The cifar10 role brings a run's files home without racing their writers (roles/cifar10/tasks/settle.yml), run by
ansible-playbook on localhost (the role's preflight, configure and results, driven by its inputs) beside a training
under the real jobctl (`sleep`: running, or stopped) and a FAKE state keeper under the real jobctl: a writer that
replaces legs.json as fast as it can, as the keeper does once a round, until the play has reached the settle step, then
writes the leg's end and exits (its last round).

ansible.builtin.fetch reads a file's checksum and its bytes at different moments; a writer in between fails it with
"checksum mismatch", which a loaded machine showed in molecule's clean-stop case. For a stopped run, as for a finished
or failed one, the keeper's last round must end before anything is read; while the training goes on, copies taken in
one read each are fetched instead of the files."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from test_jobctl import ctl, render

# The FAKE keeper: legs.json replaced (write, then rename, as the real keeper's write_atomic) every few milliseconds,
# each time different, while the hold file exists; then the final leg (its end) and exit.
KEEPER = r"""
import json, os, sys, time
path, hold, end = sys.argv[1], sys.argv[2], sys.argv[3]
def write(doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(doc, handle)
        handle.write("\n")
    os.replace(tmp, path)
n = 0
while os.path.exists(hold):
    n += 1
    write({"legs": [{"leg": 1, "host": "localhost", "end": "running", "round": n, "pad": "x" * (n % 97)}]})
    time.sleep(0.002)
write({"legs": [{"leg": 1, "host": "localhost", "end": end, "started_at": "2026-12-01T10:00:00Z",
                 "ended_at": "2026-12-01T10:05:00Z", "start_iteration": 0, "end_iteration": 200}]})
"""

LOG = """[jobctl 2026-12-01T10:00:00Z] starting cifar10: julia cifar10.jl (via nohup)
Configuring Mocha...
[2026-12-01 10:00:05 | info | Mocha]: Constructing net CIFAR10-train on Mocha.CPUBackend...
[2026-12-01 10:00:06 | info | Mocha]:  TRAIN iter=000000 obj_val=2.30000000
[2026-12-01 10:00:06 | info | Mocha]: Saving snapshot to snapshot-000000.jld...
[2026-12-01 10:00:26 | info | Mocha]:  TRAIN iter=000100 obj_val=2.10000000
[2026-12-01 10:00:26 | info | Mocha]: Saving snapshot to snapshot-000100.jld...
[2026-12-01 10:00:46 | info | Mocha]:  TRAIN iter=000200 obj_val=2.00000000
"""

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: true
  tasks:
    - ansible.builtin.include_role:
        name: {root}/roles/cifar10
        tasks_from: "{{{{ item }}}}"
      loop: [preflight.yml, configure.yml, results.yml]
"""
# The task header the play prints when it reaches the keeper's last round (the test then lets the keeper end).
SETTLE = "Settle | Wait for the state keeper's last round"


def jld(path, it):
    path.write_bytes(b"Julia data file (HDF5), version 0.1.3".ljust(512, b"\0") + b"\x89HDF\r\n\x1a\n" + json.dumps({"iter": it}).encode())


@pytest.fixture()
def run(tmp_path):
    base = tmp_path / "cifar10"
    base.mkdir()
    training = render(base, "run", ["sleep", "600"])  # the training under the real jobctl, where the role's probe reads it
    run_dir = base / "run"
    (run_dir / "snapshots").mkdir()
    for it in (0, 100):
        jld(run_dir / "snapshots" / f"snapshot-{it:06d}.jld", it)
    (run_dir / "training.log").write_text(LOG)
    (run_dir / "run_id").write_text("r1\n")
    hold = tmp_path / "keeper.hold"
    hold.write_text("the FAKE keeper writes legs.json over and over while this file exists\n")
    keepers = []

    def keeper(end):
        (tmp_path / "keeper.py").write_text(KEEPER)
        kctl = render(run_dir, "keeper", [sys.executable, str(tmp_path / "keeper.py"), str(run_dir / "legs.json"), str(hold), end])
        started = ctl(kctl, "start")
        assert started.returncode == 0, started.stderr
        keepers.append(kctl)
        return kctl

    yield run_dir, training, keeper, hold
    for kctl in keepers:
        ctl(kctl, "stop")
    ctl(training, "stop")


def results(tmp_path, run_dir, hold, release):
    """The role's preflight, configure and results through its inputs; with RELEASE, the FAKE keeper's hold file goes
    once the play prints the settle step's header (the keeper is still writing when the play gets there)."""
    (tmp_path / "play.yml").write_text(PLAY.format(root=REPO))
    extra = {"cifar10_dir": str(run_dir.parent), "cifar10_run_dir": str(run_dir), "cifar10_run_id": "r1",
             "cifar10_artifacts_dir": str(tmp_path / "artifacts"), "cifar10_max_iter": 400, "cifar10_summary_interval": 100,
             "cifar10_backend": "cpu", "cifar10_state_keeper_interval": 1, "cifar10_julia": shutil.which("true"),
             "cifar10_environment": {}, "cifar10_env_file": "", "ansible_python_interpreter": sys.executable}
    play = subprocess.Popen([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,",
                             str(tmp_path / "play.yml"), "-e", json.dumps(extra)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=REPO,
                            env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                                     MOCHA_CLOUD_SETTINGS="none", PYTHONUNBUFFERED="1"))
    lines = []
    for line in play.stdout:
        lines.append(line)
        if release and SETTLE in line and hold.exists():
            hold.unlink()
    rc = play.wait(timeout=600)
    return rc, " ".join("".join(lines).split())


# A stopped run is the case that raced; finished and failed runs take the same path (the training is not running).
def test_an_ended_run_is_fetched_after_the_keepers_last_round(tmp_path, run):
    run_dir, training, keeper, hold = run
    assert ctl(training, "start").returncode == 0 and ctl(training, "stop").returncode == 0
    keeper("interrupted")  # a stopped run's leg ends interrupted
    rc, flat = results(tmp_path, run_dir, hold, release=True)
    assert rc == 0, flat[-3000:]
    assert SETTLE in flat and not hold.exists()  # the keeper was still writing when the play reached the settle step
    home = tmp_path / "artifacts" / "localhost" / "r1"
    (leg,) = json.loads((home / "legs.json").read_text())["legs"]
    assert leg["end"] == "interrupted" and leg["end_iteration"] == 200  # the last round's legs.json, not one before it
    assert (home / "training.log").read_text() == LOG
    assert sorted(p.name for p in home.glob("snapshot-*.jld")) == ["snapshot-000100.jld"]
    assert "checksum mismatch" not in flat


def test_a_run_that_goes_on_is_fetched_from_still_copies(tmp_path, run):
    run_dir, training, keeper, hold = run
    assert ctl(training, "start").returncode == 0
    keeper("running")  # a keeper in the middle of its rounds for the whole play
    (run_dir / "snapshots" / "snapshot-000200.jld").write_bytes(b"Julia data file (HDF5)")  # Mocha writing it
    rc, flat = results(tmp_path, run_dir, hold, release=False)
    assert rc == 0, flat[-3000:]
    home = tmp_path / "artifacts" / "localhost" / "r1"
    doc = json.loads((home / "legs.json").read_text())  # one whole version of the file, as it was at one moment
    assert doc["legs"][0]["end"] == "running" and doc["legs"][0]["round"] > 0
    # The newest complete snapshot, never the one being written.
    assert sorted(p.name for p in home.glob("snapshot-*.jld")) == ["snapshot-000100.jld"]
    assert re.search(r"Copy the training log and legs.json still, for fetching\] \*+ changed", flat), flat[-3000:]
