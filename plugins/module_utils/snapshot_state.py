# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which Mocha snapshot is complete, and whether a snapshot file can be trusted.

Mocha writes snapshot-NNNNNN.jld in place (JLD opens the file and fills it), so the newest file in the snapshot
directory may be half written while the run goes on. The rule used here:

- a snapshot is complete when a newer snapshot exists, or when the run has ended (not running);
- and it must carry the HDF5 signature (a JLD file is HDF5) at one of the offsets HDF5 allows for it: 0, 512,
  1024, 2048, ... (JLD writes a 512-byte user block first, so its signature is at 512).

So while the run goes on, the newest complete snapshot is the second newest file; once it ends, the newest.

A kept state records the training settings its snapshot was trained with (``TRAINING_SETTINGS``: the learning-rate
stages, momentum, weight decay and batch size); a run resumes from it only with the same ones, so a run id used again
for other settings (another experiment) never picks up someone else's weights. The run's length (max_iter) may change:
a longer run goes on from its snapshot.
"""

import hashlib
import json
import os
import re

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# The one rule of a snapshot's file name, as Mocha writes it (snapshot-%06d.jld): ASCII digits only (\d takes any
# script's digits). SNAPSHOT_FILE is the pattern's text, for the patterns of the log lines that name a snapshot
# (mocha_log); SNAPSHOT_NAME the whole name ('$' would let a trailing newline through).
SNAPSHOT_FILE = r"snapshot-(?P<iter>[0-9]+)\.jld"
SNAPSHOT_NAME = re.compile(r"\A" + SNAPSHOT_FILE + r"\Z")
# The most a reader takes of a run's state files, which the host writes (so they are read as untrusted input): the
# marker state.json (a few hundred bytes as the keeper writes it), legs.json (a few hundred bytes a leg) and the
# training log (Mocha's CIFAR-10 run writes well under a megabyte).
MARKER_MAX_BYTES = 65536
LEGS_MAX_BYTES = 1 << 20
LOG_MAX_BYTES = 64 << 20


def _signature_offset(read_at, size):
    """The first offset HDF5 allows (0, 512, 1024, 2048, ...) where read_at(offset) gives the signature, or None."""
    offset = 0
    while offset + len(HDF5_SIGNATURE) <= size:
        if read_at(offset) == HDF5_SIGNATURE:
            return offset
        offset = 512 if offset == 0 else offset * 2
    return None


def hdf5_signature_offset(path):
    """The offset of the HDF5 signature in path (0, 512, 1024, 2048, ...), or None when there is none."""
    with open(path, "rb") as handle:
        def read_at(offset):
            handle.seek(offset)
            return handle.read(len(HDF5_SIGNATURE))

        return _signature_offset(read_at, os.path.getsize(path))


def hdf5_signature_offset_in(data):
    """The same for the bytes of a snapshot held in memory (one downloaded, before it is written anywhere)."""
    return _signature_offset(lambda offset: data[offset:offset + len(HDF5_SIGNATURE)], len(data))


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def list_snapshots(directory):
    """[(iteration, name)] of the snapshot files in directory, oldest first ([] when there is no directory)."""
    found = []
    if directory and os.path.isdir(directory):
        for name in os.listdir(directory):
            m = SNAPSHOT_NAME.match(name)
            if m and os.path.isfile(os.path.join(directory, name)):
                found.append((int(m.group("iter")), name))
    return sorted(found)


def newest_complete(directory, running):
    """The newest complete snapshot in directory under the rule above.

    Returns {'snapshot': name or None, 'iteration', 'path', 'size', 'sha256', 'mtime', 'passed_over': [{'name', 'reason'}]}.
    """
    snaps = list_snapshots(directory)
    passed_over = []
    for pos in range(len(snaps) - 1, -1, -1):
        it, name = snaps[pos]
        path = os.path.join(directory, name)
        if running and pos == len(snaps) - 1:
            passed_over.append({"name": name, "reason": "newest snapshot while the run goes on (may still be written)"})
            continue
        if hdf5_signature_offset(path) is None:
            passed_over.append({"name": name, "reason": "no HDF5 signature (truncated or not a JLD file)"})
            continue
        st = os.stat(path)
        return {"snapshot": name, "iteration": it, "path": path, "size": st.st_size, "sha256": sha256_file(path),
                "mtime": int(st.st_mtime), "passed_over": passed_over}
    return {"snapshot": None, "iteration": None, "path": None, "size": None, "sha256": None, "mtime": None,
            "passed_over": passed_over}


def check_snapshot(path, sha256):
    """None when path exists, has the expected sha256 and an HDF5 signature; else a message saying what to do."""
    fix = (f"Delete {os.path.dirname(path) or '.'} to start the run over, or restore another good snapshot there with "
           "its sha256 in state.json.")
    if not os.path.isfile(path):
        return f"Snapshot {path} named in state.json is missing. {fix}"
    if not SNAPSHOT_NAME.match(os.path.basename(path)):
        return f"{path} is not named snapshot-NNNNNN.jld. {fix}"
    return corruption(path, sha256_file(path), sha256, lambda: hdf5_signature_offset(path), fix)


def json_object(raw):
    """The JSON object in RAW (bytes of a state.json, here or in S3), as a dict; None when RAW is not UTF-8 JSON or
    holds anything but an object (a damaged or foreign marker)."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def read_copy(directory):
    """The state.json of the controller copy in DIRECTORY, as a dict: {} when there is no copy (no directory, no
    state.json, or one that names no snapshot yet). ValueError, with what to do, when state.json cannot be read as
    the JSON object the role writes (at most MARKER_MAX_BYTES)."""
    path = os.path.join(directory, "state.json")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MARKER_MAX_BYTES + 1)
    except FileNotFoundError:
        return {}
    fix = f"Delete {directory} to start the run over, or put a good snapshot there with its sha256 in state.json."
    if len(raw) > MARKER_MAX_BYTES:
        raise ValueError(f"{path} is larger than {MARKER_MAX_BYTES} bytes: not a state.json the role writes. {fix}")
    state = json_object(raw)
    if state is None:
        raise ValueError(f"{path} is not a JSON object (damaged). {fix}")
    if not state.get("snapshot"):
        return {}
    if not isinstance(state["snapshot"], str) or not SNAPSHOT_NAME.match(state["snapshot"]):
        raise ValueError(f"{path} names {state['snapshot']!r}, not a snapshot-NNNNNN.jld beside it. {fix}")
    return state


TRAINING_SETTINGS = ("lr_stages", "momentum", "weight_decay", "batch_size")


def training_settings(values):
    """The training settings of VALUES (a mapping holding at least TRAINING_SETTINGS; numbers or their text) in one
    form, so two spellings of the same settings compare equal: {lr_stages: [[int, float], ...], momentum: float,
    weight_decay: float, batch_size: int}. ValueError when one is missing or not a number."""
    if not isinstance(values, dict):
        raise ValueError(f"the training settings must be a mapping of {', '.join(TRAINING_SETTINGS)}, got {values!r}")
    missing = [k for k in TRAINING_SETTINGS if k not in values]
    if missing:
        raise ValueError(f"the training settings lack {', '.join(missing)}")
    try:
        stages = [[int(float(n)), float(r)] for n, r in values["lr_stages"]]
        return {"lr_stages": stages, "momentum": float(values["momentum"]), "weight_decay": float(values["weight_decay"]),
                "batch_size": int(float(values["batch_size"]))}
    except (TypeError, ValueError):
        raise ValueError(f"the training settings must be numbers (lr_stages a list of [iterations, rate]), got {values!r}") from None


def settings_text(settings):
    return ", ".join(f"{k} {settings[k]}" for k in TRAINING_SETTINGS)


def settings_problem(where, recorded, current, fix):
    """None when the state at WHERE may be resumed with the CURRENT training settings: it records none (a state kept
    before settings were recorded) or the same ones. Else the message: what it was trained with, what this run trains
    with, and FIX."""
    if recorded in (None, "", {}):
        return None
    try:
        kept = training_settings(recorded)
    except ValueError as exc:
        return f"The state in {where} records training settings that cannot be read ({exc}). {fix}"
    now = training_settings(current)
    if kept == now:
        return None
    return (f"The state in {where} was trained with other settings ({settings_text(kept)}) than this run ({settings_text(now)}): "
            f"it is another experiment under the same run id, and this run does not resume from it. {fix}")


def corruption(where, actual_sha256, sha256, signature_offset, fix):
    """None when a snapshot's sha256 is the one state.json gives and it carries the HDF5 signature; else the message
    naming WHERE (a path, an S3 location) and FIX. signature_offset: a callable, asked only once the sha256 matches."""
    if actual_sha256 != str(sha256 or "").lower():
        return f"Snapshot {where} is corrupt: sha256 {actual_sha256}, state.json says {sha256}. {fix}"
    if signature_offset() is None:
        return f"Snapshot {where} is corrupt: no HDF5 signature (not a JLD file). {fix}"
    return None
