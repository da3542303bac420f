"""The cifar10 role brings a run's files home without racing their writers (roles/cifar10/tasks/settle.yml), run by
ansible-playbook on localhost against a FAKE state keeper under the real jobctl: a writer that replaces legs.json as fast
as it can, as the keeper does once a round, for a few seconds, then writes the leg's end and exits (its last round).

ansible.builtin.fetch reads a file's checksum and its bytes at different moments; a writer in between fails it with
"checksum mismatch", which a loaded machine showed in molecule's clean-stop case. For a stopped run, as for a finished
or failed one, the keeper's last round must end before anything is read; while the training goes on, copies taken in
one read each are fetched instead of the files."""

import json
import re
import subprocess
import sys

import pytest
from conftest import run_role_tasks
from test_jobctl import render

# The FAKE keeper: legs.json replaced (write, then rename, as the real keeper's write_atomic) every few milliseconds,
# each time different, for SECONDS; then the final leg (its end) and exit.
KEEPER = r"""
import json, os, sys, time
path, seconds, end = sys.argv[1], float(sys.argv[2]), sys.argv[3]
def write(doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(doc, handle)
        handle.write("\n")
    os.replace(tmp, path)
until, n = time.monotonic() + seconds, 0
while time.monotonic() < until:
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


def jld(path, it):
    path.write_bytes(b"Julia data file (HDF5), version 0.1.3".ljust(512, b"\0") + b"\x89HDF\r\n\x1a\n" + json.dumps({"iter": it}).encode())


@pytest.fixture()
def run(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "snapshots").mkdir(parents=True)
    for it in (0, 100):
        jld(run_dir / "snapshots" / f"snapshot-{it:06d}.jld", it)
    (run_dir / "training.log").write_text(LOG)
    keepers = []

    def keeper(seconds, end):
        (tmp_path / "keeper.py").write_text(KEEPER)
        ctl = render(run_dir, "keeper", [sys.executable, str(tmp_path / "keeper.py"), str(run_dir / "legs.json"), str(seconds), end])
        started = subprocess.run([str(ctl), "start"], capture_output=True, text=True, check=False)
        assert started.returncode == 0, started.stderr
        keepers.append(ctl)
        return ctl

    yield run_dir, keeper
    for ctl in keepers:
        subprocess.run([str(ctl), "stop"], capture_output=True, check=False)


def results(tmp_path, run_dir, running, state):
    seen = {"status": {"running": running, "state": state, "supervisor": "nohup"},
            "progress": {"latest_snapshot": "snapshot-000100.jld"}}
    return run_role_tasks(tmp_path, "cifar10", ["results"], {
        "cifar10_run_dir": str(run_dir), "cifar10_artifacts_dir": str(tmp_path / "artifacts"), "__cifar10_run_id": "r1",
        "__cifar10_last_poll": seen, "cifar10_max_iter": 400, "cifar10_summary_interval": 100, "cifar10_backend": "cpu",
        "cifar10_state_keeper_interval": 1, "MOCHA_CLOUD_SETTINGS": "none"})


# A stopped run is the case that raced; finished and failed runs take the same path (the training is not running).
@pytest.mark.parametrize("state", ["stopped at 2026-12-01T10:01:00Z"])
def test_an_ended_run_is_fetched_after_the_keepers_last_round(tmp_path, run, state):
    run_dir, keeper = run
    end = {"stopped": "interrupted"}.get(state.split()[0], state.split()[0])
    keeper(15, end)  # longer than the play takes to reach the fetch
    rc, flat = results(tmp_path, run_dir, False, state)
    assert rc == 0, flat[-3000:]
    home = tmp_path / "artifacts" / "localhost" / "r1"
    (leg,) = json.loads((home / "legs.json").read_text())["legs"]
    assert leg["end"] == end and leg["end_iteration"] == 200  # the last round's legs.json, not one from before it
    assert (home / "training.log").read_text() == LOG
    assert sorted(p.name for p in home.glob("snapshot-*.jld")) == ["snapshot-000100.jld"]
    assert "checksum mismatch" not in flat


def test_a_run_that_goes_on_is_fetched_from_still_copies(tmp_path, run):
    run_dir, keeper = run
    keeper(60, "running")  # a keeper in the middle of its rounds for the whole play
    (run_dir / "snapshots" / "snapshot-000200.jld").write_bytes(b"Julia data file (HDF5)")  # Mocha writing it
    rc, flat = results(tmp_path, run_dir, True, "running since 2026-12-01T10:00:00Z")
    assert rc == 0, flat[-3000:]
    home = tmp_path / "artifacts" / "localhost" / "r1"
    doc = json.loads((home / "legs.json").read_text())  # one whole version of the file, as it was at one moment
    assert doc["legs"][0]["end"] == "running" and doc["legs"][0]["round"] > 0
    # The newest complete snapshot, never the one being written.
    assert sorted(p.name for p in home.glob("snapshot-*.jld")) == ["snapshot-000100.jld"]
    assert re.search(r"Copy the training log and legs.json still, for fetching\] \*+ changed", flat), flat[-3000:]
