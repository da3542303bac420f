# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
import hashlib

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import snapshot_state
from ansible_collections.mocha.cloud.plugins.module_utils.snapshot_state import (
    HDF5_SIGNATURE,
    check_snapshot,
    hdf5_signature_offset,
    newest_complete,
)


def jld(path, payload=b"weights" * 100, userblock=512):
    """A file shaped like a JLD snapshot: a user block, then the HDF5 signature, then data."""
    head = b"Julia data file (HDF5), version 0.1.3".ljust(userblock, b"\0") if userblock else b""
    path.write_bytes(head + HDF5_SIGNATURE + payload)
    return path


def test_signature_offsets(tmp_path):
    assert hdf5_signature_offset(jld(tmp_path / "a.jld", userblock=0)) == 0
    assert hdf5_signature_offset(jld(tmp_path / "b.jld")) == 512
    assert hdf5_signature_offset(jld(tmp_path / "c.jld", userblock=2048)) == 2048


def test_signature_elsewhere_or_truncated_is_refused(tmp_path):
    odd = tmp_path / "odd.jld"
    odd.write_bytes(b"x" * 100 + HDF5_SIGNATURE + b"y" * 1000)  # not at an offset HDF5 allows
    assert hdf5_signature_offset(odd) is None
    full = jld(tmp_path / "full.jld").read_bytes()
    cut = tmp_path / "cut.jld"
    cut.write_bytes(full[:515])  # user block written, signature not yet
    assert hdf5_signature_offset(cut) is None
    empty = tmp_path / "empty.jld"
    empty.write_bytes(b"")
    assert hdf5_signature_offset(empty) is None


def test_newest_skipped_while_running_taken_when_ended(tmp_path):
    jld(tmp_path / "snapshot-000100.jld")
    jld(tmp_path / "snapshot-000200.jld")
    (tmp_path / ".snapshot-000300.jld.tmp").write_bytes(b"junk")
    running = newest_complete(str(tmp_path), running=True)
    assert running["snapshot"] == "snapshot-000100.jld"
    assert running["iteration"] == 100
    assert [s["name"] for s in running["passed_over"]] == ["snapshot-000200.jld"]
    ended = newest_complete(str(tmp_path), running=False)
    assert ended["snapshot"] == "snapshot-000200.jld"
    assert ended["sha256"] == hashlib.sha256((tmp_path / "snapshot-000200.jld").read_bytes()).hexdigest()


def test_truncated_snapshot_never_chosen(tmp_path):
    jld(tmp_path / "snapshot-000100.jld")
    (tmp_path / "snapshot-000200.jld").write_bytes(b"Julia data file (HDF5)")  # half written, run died
    ended = newest_complete(str(tmp_path), running=False)
    assert ended["snapshot"] == "snapshot-000100.jld"
    assert "no HDF5 signature" in ended["passed_over"][0]["reason"]


def test_no_snapshot(tmp_path):
    assert newest_complete(str(tmp_path / "missing"), running=False)["snapshot"] is None
    jld(tmp_path / "snapshot-000100.jld")
    assert newest_complete(str(tmp_path), running=True)["snapshot"] is None


def test_check_snapshot(tmp_path):
    good = jld(tmp_path / "snapshot-000100.jld")
    digest = hashlib.sha256(good.read_bytes()).hexdigest()
    assert check_snapshot(str(good), digest) is None
    assert check_snapshot(str(good), digest.upper()) is None
    msg = check_snapshot(str(good), "0" * 64)
    assert "snapshot-000100.jld is corrupt: sha256" in msg and "Delete" in msg
    bad = tmp_path / "snapshot-000200.jld"
    bad.write_bytes(b"not hdf5 at all" * 100)
    msg = check_snapshot(str(bad), hashlib.sha256(bad.read_bytes()).hexdigest())
    assert "no HDF5 signature" in msg and str(bad) in msg
    assert "missing" in check_snapshot(str(tmp_path / "snapshot-000300.jld"), digest)


# --- the training settings a kept state records ------------------------------------------------------------------
DEFAULTS = {"lr_stages": [[60000, 0.001], [5000, 0.0001]], "momentum": 0.9, "weight_decay": 0.004, "batch_size": 100}


def test_training_settings_have_one_form():
    from ansible_collections.mocha.cloud.plugins.module_utils.snapshot_state import training_settings

    spelled = {"lr_stages": [["60000", "1e-3"], [5000.0, 0.0001]], "momentum": "0.9", "weight_decay": 0.004,
               "batch_size": "100", "max_iter": 7}
    assert training_settings(spelled) == training_settings(DEFAULTS) == DEFAULTS
    with pytest.raises(ValueError, match="lack batch_size"):
        training_settings({k: v for k, v in DEFAULTS.items() if k != "batch_size"})
    with pytest.raises(ValueError, match="must be numbers"):
        training_settings(dict(DEFAULTS, momentum="fast"))


def test_a_state_trained_with_other_settings_is_named_and_refused():
    from ansible_collections.mocha.cloud.plugins.module_utils.snapshot_state import settings_problem

    assert settings_problem("d", DEFAULTS, dict(DEFAULTS, max_iter=99), "Fix.") is None  # a longer run goes on
    assert settings_problem("d", None, DEFAULTS, "Fix.") is None  # a state kept before settings were recorded
    problem = settings_problem("artifacts/r1/state", DEFAULTS, dict(DEFAULTS, momentum=0.5), "Fix.")
    assert problem.startswith("The state in artifacts/r1/state was trained with other settings (lr_stages [[60000, 0.001], "
                              "[5000, 0.0001]], momentum 0.9,") and "than this run (lr_stages" in problem
    assert "momentum 0.5" in problem and problem.endswith("does not resume from it. Fix.")
    assert "cannot be read" in settings_problem("d", {"momentum": 1}, DEFAULTS, "Fix.")


@pytest.mark.parametrize("name", ["snapshot-000030.jld\n", "snapshot-\u0663\u0663.jld", "snapshot-\uff13.jld", "snapshot-.jld",
                                  "x/snapshot-000030.jld", "snapshot-000030.jld.tmp"])
def test_a_snapshot_name_is_the_whole_name_in_ascii_digits(name, tmp_path):
    from ansible_collections.mocha.cloud.plugins.module_utils.snapshot_state import SNAPSHOT_NAME, list_snapshots

    assert SNAPSHOT_NAME.match(name) is None
    assert SNAPSHOT_NAME.match("snapshot-000030.jld").group("iter") == "000030"
    if "/" not in name:
        jld(tmp_path / name)
        assert list_snapshots(str(tmp_path)) == []


# --- the controller copy: its state.json read within limits ------------------------------------------------------
def test_the_controller_copy_is_read_or_refused(tmp_path):
    import json

    from ansible_collections.mocha.cloud.plugins.module_utils.snapshot_state import MARKER_MAX_BYTES, read_copy

    assert read_copy(str(tmp_path / "none")) == {}  # no copy
    (tmp_path / "state.json").write_text(json.dumps({"run_id": "r1", "snapshot": None}))
    assert read_copy(str(tmp_path)) == {}  # a copy naming no snapshot yet
    state = {"run_id": "r1", "snapshot": "snapshot-000200.jld", "sha256": "ab", "iteration": 200}
    (tmp_path / "state.json").write_text(json.dumps(state))
    assert read_copy(str(tmp_path)) == state
    for bad, says in ((b"[1, 2]", "is not a JSON object"), (b"{\"snapshot\": \"../x/snapshot-000200.jld\"}", "not a snapshot-NNNNNN.jld"),
                      (b" " * (MARKER_MAX_BYTES + 1), "larger than")):
        (tmp_path / "state.json").write_bytes(bad)
        with pytest.raises(ValueError, match=says):
            read_copy(str(tmp_path))


@pytest.mark.parametrize("raw, expected", [
    (b'{"run_id": "r1", "snapshot": "snapshot-000400.jld"}', {"run_id": "r1", "snapshot": "snapshot-000400.jld"}),
    (b"{}", {}),
    (b'["snapshot-000400.jld"]', None),
    (b'"snapshot-000400.jld"', None),
    (b"null", None),
    (b'{"run_id": "r1"', None),
    (b'{"run_id": "\xff"}', None),
    (b"", None),
])
def test_a_marker_is_one_json_object(raw, expected):
    """The one parse of a state.json, the controller copy's (read_copy) and the S3 state's (the keeper's restore)."""
    assert snapshot_state.json_object(raw) == expected
