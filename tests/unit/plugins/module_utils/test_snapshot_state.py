# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
import hashlib

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
