"""mocha.cloud.snapshot_state with copy: the controller copy of a run's state (state.json and the snapshot it names)
checked in one call, as cifar10's preflight asks it."""

import hashlib
import json

from ansible_collections.mocha.cloud.plugins.module_utils.snapshot_state import HDF5_SIGNATURE
from ansible_collections.mocha.cloud.plugins.modules import snapshot_state
from ansible_collections.mocha.cloud.tests.unit.plugins.modules.utils import run_module

SETTINGS = {"lr_stages": [[60000, 0.001]], "momentum": 0.9, "weight_decay": 0.004, "batch_size": 100}


def copy_dir(tmp_path, settings=SETTINGS, corrupt=False):
    snap = tmp_path / "snapshot-000200.jld"
    snap.write_bytes(b"Julia data file (HDF5)".ljust(512, b"\0") + HDF5_SIGNATURE + b"weights")
    sha = hashlib.sha256(snap.read_bytes()).hexdigest()
    if corrupt:
        snap.write_bytes(snap.read_bytes()[:-1] + b"X")
    (tmp_path / "state.json").write_text(json.dumps({"run_id": "r1", "snapshot": snap.name, "sha256": sha, "iteration": 200,
                                                     "host": "host-a", "time": "2026-12-01T10:00:00Z", "settings": settings}))
    return sha


def test_a_good_copy_is_named_with_its_state(tmp_path):
    sha = copy_dir(tmp_path)
    res = run_module(snapshot_state.main, {"copy": str(tmp_path), "settings": SETTINGS})
    assert not res.get("failed") and not res["changed"], res
    assert (res["snapshot"], res["iteration"], res["sha256"]) == ("snapshot-000200.jld", 200, sha)
    assert res["state"]["host"] == "host-a"


def test_no_copy_is_no_snapshot(tmp_path):
    res = run_module(snapshot_state.main, {"copy": str(tmp_path / "missing"), "settings": SETTINGS})
    assert not res.get("failed") and res["snapshot"] is None and res["state"] == {}, res


def test_a_corrupt_copy_or_other_settings_are_refused(tmp_path):
    copy_dir(tmp_path, corrupt=True)
    res = run_module(snapshot_state.main, {"copy": str(tmp_path), "settings": SETTINGS})
    assert res["failed"] and f"Snapshot {tmp_path / 'snapshot-000200.jld'} is corrupt: sha256" in res["msg"], res
    copy_dir(tmp_path, settings=dict(SETTINGS, momentum=0.5))
    res = run_module(snapshot_state.main, {"copy": str(tmp_path), "settings": SETTINGS})
    assert res["failed"] and "was trained with other settings" in res["msg"], res


def test_copy_does_not_mix_with_a_path(tmp_path):
    res = run_module(snapshot_state.main, {"copy": str(tmp_path), "path": str(tmp_path / "x"), "sha256": "ab"})
    assert res["failed"] and "mutually exclusive" in res["msg"], res
