"""The controller copy of a cifar10 run's state, run by ansible-playbook on localhost and driven through the role's
inputs: after a wait (wait.yml, against a FAKE jobctl that answers as the real one does) state.yml copies the newest
complete snapshot (never the file still being written, never a truncated one), the log and state.json, keyed by run
id, and changes nothing the second time; preflight checks the controller copy and restore.yml puts it into an empty
run directory (another host stand-in); a corrupt controller copy is refused, naming the file, before the run directory
is touched."""

import hashlib
import json
import re

from conftest import REPO, run_role_tasks

SIG = b"\x89HDF\r\n\x1a\n"

def jld(path, it):
    path.write_bytes(b"Julia data file (HDF5), version 0.1.3".ljust(512, b"\0") + SIG + json.dumps({"iter": it}).encode())


def play(tmp_path, tasks, extra):
    return run_role_tasks(tmp_path, "cifar10", tasks, dict(extra, cifar10_artifacts_dir=str(tmp_path / "artifacts")))


def fake_jobctl(run_dir, running):
    """A FAKE jobctl in RUN_DIR: `status` and `wait N` print one JSON status line, as roles/common's jobctl does,
    of a training that still runs or has finished."""
    state = "running" if running else "finished rc=0"
    line = json.dumps({"job": "cifar10", "running": running, "state": state, "rc": None if running else 0, "pid": None,
                       "supervisor": "nohup", "log": str(run_dir / "training.log"), "started_at": 1, "elapsed_s": 1})
    ctl = run_dir / "jobctl"
    ctl.write_text(f"#!/bin/sh\n# FAKE jobctl (tests only)\ncat <<'EOF'\n{line}\nEOF\n")
    ctl.chmod(0o755)


def inputs(run_dir, run_id, **more):
    """The role's inputs for a run on this host stand-in (the FAKE julia; no state keeper: no store here)."""
    return dict({"cifar10_dir": str(run_dir.parent), "cifar10_run_dir": str(run_dir), "cifar10_run_id": run_id,
                 "cifar10_julia": str(REPO / "tests/fakes/julia/julia"), "cifar10_state_keeper": False,
                 "cifar10_environment": {}, "cifar10_wait_max_polls": 1, "cifar10_poll_interval": 1}, **more)


def recap(flat):
    return {k: int(v) for k, v in re.findall(r"(ok|changed|failed)=(\d+)", flat.split("PLAY RECAP")[-1])}


def test_ship_then_restore_elsewhere_then_refuse_corrupt(tmp_path):
    run_a = tmp_path / "host-a"
    (run_a / "snapshots").mkdir(parents=True)
    jld(run_a / "snapshots" / "snapshot-000100.jld", 100)
    jld(run_a / "snapshots" / "snapshot-000200.jld", 200)
    (run_a / "snapshots" / "snapshot-000300.jld").write_bytes(b"Julia data file (HDF5)")  # half written
    (run_a / "training.log").write_text("log of A\n")
    fake_jobctl(run_a, running=True)
    ship = inputs(run_a, "r1", cifar10_ship_state=True)
    state = tmp_path / "artifacts" / "r1" / "state"

    rc, flat = play(tmp_path, ["preflight", "configure", "wait"], ship)
    assert rc == 0, flat[-3000:]
    assert re.search(r"State \| Find the newest complete snapshot\] \*+ ok: \[localhost\]", flat), flat[-3000:]
    # Running: the newest (snapshot-000300, half written) is skipped, and so the newest complete is snapshot-000200.
    kept = json.loads((state / "state.json").read_text())
    assert kept["snapshot"] == "snapshot-000200.jld" and kept["iteration"] == 200 and kept["run_id"] == "r1"
    assert kept["host"] == "localhost"
    assert kept["sha256"] == hashlib.sha256((run_a / "snapshots" / "snapshot-000200.jld").read_bytes()).hexdigest()
    assert sorted(p.name for p in state.iterdir()) == ["snapshot-000200.jld", "state.json", "training.log"]
    rc, flat = play(tmp_path, ["preflight", "configure", "wait"], ship)
    assert rc == 0 and recap(flat)["changed"] == 0, flat[-3000:]

    # The run ended: snapshot-000300 is truncated, never copied; nothing changes.
    fake_jobctl(run_a, running=False)
    rc, flat = play(tmp_path, ["preflight", "configure", "wait"], ship)
    assert rc == 0 and recap(flat)["changed"] == 0, flat[-3000:]
    assert json.loads((state / "state.json").read_text())["snapshot"] == "snapshot-000200.jld"

    # Another host stand-in: an empty run directory with the same run id resumes from the controller copy.
    run_b = tmp_path / "host-b" / "run"
    restore = inputs(run_b, "r1", cifar10_restore_state=True)
    rc, flat = play(tmp_path, ["preflight", "configure", "restore"], restore)
    assert rc == 0, flat[-3000:]
    assert "Run r1 resumes on localhost from snapshot-000200.jld (iteration 200, the controller copy, saved on localhost" in flat, flat[-3000:]
    assert (run_b / "snapshots" / "snapshot-000200.jld").read_bytes() == (state / "snapshot-000200.jld").read_bytes()
    assert (run_b / "training.log").read_text() == "log of A\n"
    # It has a snapshot now: the controller copy is not checked again, and a second run changes nothing.
    rc, flat = play(tmp_path, ["preflight", "configure"], restore)
    assert rc == 0 and recap(flat)["changed"] == 0, flat[-3000:]
    assert "Check the controller copy of the run's state (resume anywhere)] *** skipping" in flat, flat[-3000:]

    # A corrupt kept snapshot is refused, naming it, before the (empty) run directory is touched.
    snap = state / "snapshot-000200.jld"
    snap.write_bytes(snap.read_bytes()[:-3] + b"xyz")
    run_c = tmp_path / "host-c" / "run"
    rc, flat = play(tmp_path, ["preflight", "configure", "restore"], inputs(run_c, "r1"))
    assert rc != 0
    assert f"Snapshot {snap} is corrupt: sha256" in flat and "Delete" in flat, flat[-3000:]
    assert not run_c.exists()


def test_a_run_id_written_by_the_host_is_checked_before_it_names_a_path(tmp_path):
    """On-prem with cifar10_run_id empty the run id comes from the host's run directory: one that is not a name
    ('../outside') stops the role in its preflight, before the controller writes or deletes anything with it."""
    run = tmp_path / "work" / "run"
    (run / "snapshots").mkdir(parents=True)
    jld(run / "snapshots" / "snapshot-000100.jld", 100)
    jld(run / "snapshots" / "snapshot-000200.jld", 200)
    (run / "run_id").write_text("../outside\n")
    (run / "training.log").write_text("log\n")
    outside = tmp_path / "outside"
    rc, flat = play(tmp_path, ["preflight", "configure", "state"], {
        "cifar10_dir": str(tmp_path / "work"), "cifar10_run_dir": str(run), "cifar10_julia": str(REPO / "tests/fakes/julia/julia"),
        "cifar10_state_keeper": False, "cifar10_environment": {}})
    assert rc != 0
    assert (f"the run id in {run}/run_id on localhost must be 1-63 letters, digits, '.', '_' or '-' starting with a letter "
            "or digit, got '../outside'") in flat and "Nothing was changed" in flat, flat[-3000:]
    assert not outside.exists() and not (tmp_path / "artifacts").exists()
    assert not (run / "cifar10.jl").exists()  # stopped in the preflight: configure never ran


def test_a_state_trained_with_other_settings_is_not_resumed(tmp_path):
    """A run id used again for another experiment (two sweeps whose run ids met, a run started over with another
    learning rate) finds a kept state trained with other settings: refused, naming both, before the run directory is
    touched."""
    run_a = tmp_path / "host-a"
    (run_a / "snapshots").mkdir(parents=True)
    jld(run_a / "snapshots" / "snapshot-000200.jld", 200)
    (run_a / "training.log").write_text("log of A\n")
    fake_jobctl(run_a, running=False)
    rc, flat = play(tmp_path, ["preflight", "configure", "wait"], inputs(run_a, "a-b-c", cifar10_lr_stages=[[300, 0.01]]))
    assert rc == 0, flat[-3000:]
    state = tmp_path / "artifacts" / "a-b-c" / "state"
    assert json.loads((state / "state.json").read_text())["settings"] == {
        "lr_stages": [[300, 0.01]], "momentum": 0.9, "weight_decay": 0.004, "batch_size": 100}

    run_b = tmp_path / "host-b" / "run"
    rc, flat = play(tmp_path, ["preflight", "configure", "restore"], inputs(run_b, "a-b-c", cifar10_lr_stages=[[300, 0.001]]))
    assert rc != 0
    assert (f"The state in {state} was trained with other settings (lr_stages [[300, 0.01]], momentum 0.9, weight_decay "
            "0.004, batch_size 100) than this run (lr_stages [[300, 0.001]], momentum 0.9") in flat, flat[-3000:]
    assert "Give this run its own run id" in flat and not run_b.exists()
    # The same settings resume from it (test_ship_then_restore_elsewhere_then_refuse_corrupt; spellings of the same
    # settings compare equal: tests/unit/plugins/module_utils/test_snapshot_state.py).
