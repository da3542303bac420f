"""The cifar10 role's run state on the controller, run by ansible-playbook on localhost: state.yml ships the newest
complete snapshot (never the file still being written, never a truncated one), the log and state.json, keyed by run
id, and changes nothing the second time; state_check.yml + state_restore.yml put it into an empty run directory (another
host stand-in), and refuse a corrupt kept snapshot, naming the file, before the run directory is touched."""

import hashlib
import json
import re

from conftest import run_role_tasks

SIG = b"\x89HDF\r\n\x1a\n"

def jld(path, it):
    path.write_bytes(b"Julia data file (HDF5), version 0.1.3".ljust(512, b"\0") + SIG + json.dumps({"iter": it}).encode())


def play(tmp_path, tasks, extra):
    return run_role_tasks(tmp_path, "cifar10", tasks, dict(extra, cifar10_artifacts_dir=str(tmp_path / "artifacts")))


def recap(flat):
    return {k: int(v) for k, v in re.findall(r"(ok|changed|failed)=(\d+)", flat.split("PLAY RECAP")[-1])}


def test_ship_then_restore_elsewhere_then_refuse_corrupt(tmp_path):
    run_a = tmp_path / "host-a"
    (run_a / "snapshots").mkdir(parents=True)
    jld(run_a / "snapshots" / "snapshot-000100.jld", 100)
    jld(run_a / "snapshots" / "snapshot-000200.jld", 200)
    (run_a / "snapshots" / "snapshot-000300.jld").write_bytes(b"Julia data file (HDF5)")  # half written
    (run_a / "training.log").write_text("log of A\n")
    ship = {"cifar10_run_dir": str(run_a), "__cifar10_run_id": "r1", "__cifar10_seen": {"status": {"running": True}},
            "cifar10_ship_state": True}
    state = tmp_path / "artifacts" / "r1" / "state"

    rc, flat = play(tmp_path, ["state"], ship)
    assert rc == 0, flat[-3000:]
    assert re.search(r"State \| Find the newest complete snapshot\] \*+ ok: \[localhost\]", flat), flat[-3000:]
    # Running: the newest (snapshot-000300, half written) is skipped, and so the newest complete is snapshot-000200.
    kept = json.loads((state / "state.json").read_text())
    assert kept["snapshot"] == "snapshot-000200.jld" and kept["iteration"] == 200 and kept["run_id"] == "r1"
    assert kept["host"] == "localhost"
    assert kept["sha256"] == hashlib.sha256((run_a / "snapshots" / "snapshot-000200.jld").read_bytes()).hexdigest()
    assert sorted(p.name for p in state.iterdir()) == ["snapshot-000200.jld", "state.json", "training.log"]
    rc, flat = play(tmp_path, ["state"], ship)
    assert rc == 0 and recap(flat)["changed"] == 0, flat[-3000:]

    # The run ended (killed): snapshot-000300 is truncated, never shipped; nothing changes.
    rc, flat = play(tmp_path, ["state"], dict(ship, __cifar10_seen={"status": {"running": False}}))
    assert rc == 0 and recap(flat)["changed"] == 0, flat[-3000:]
    assert json.loads((state / "state.json").read_text())["snapshot"] == "snapshot-000200.jld"

    # Another host stand-in: an empty run directory with the same run id resumes from the kept state.
    run_b = tmp_path / "host-b"
    restore = {"cifar10_run_dir": str(run_b), "cifar10_run_id": "r1", "__cifar10_host": {"run_id": "", "latest_snapshot": None},
               "__cifar10_start": True, "cifar10_restore_state": True}
    rc, flat = play(tmp_path, ["state_check", "state_restore"], restore)
    assert rc == 0, flat[-3000:]
    assert "Run r1 resumes on localhost from snapshot-000200.jld (iteration 200" in flat, flat[-3000:]
    assert (run_b / "snapshots" / "snapshot-000200.jld").read_bytes() == (state / "snapshot-000200.jld").read_bytes()
    assert (run_b / "training.log").read_text() == "log of A\n"
    # It has a snapshot now: nothing more is restored.
    rc, flat = play(tmp_path, ["state_check", "state_restore"], restore)
    assert rc == 0 and recap(flat)["changed"] == 0, flat[-3000:]

    # A corrupt kept snapshot is refused, naming it, before the (empty) run directory is touched.
    snap = state / "snapshot-000200.jld"
    snap.write_bytes(snap.read_bytes()[:-3] + b"xyz")
    run_c = tmp_path / "host-c"
    rc, flat = play(tmp_path, ["state_check", "state_restore"], dict(restore, cifar10_run_dir=str(run_c)))
    assert rc != 0
    assert f"Snapshot {snap} is corrupt: sha256" in flat and "Delete" in flat, flat[-3000:]
    assert not run_c.exists()
