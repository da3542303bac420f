# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mocha training logs to metrics: pure functions (text in, data out).

Shared by the module ``mocha.cloud.job_status`` (the progress line while a run goes on), the filter
``mocha.cloud.mocha_metrics`` (plugins/filter/mocha_log.py, the metrics of a finished run), both used by the cifar10
role, and the cifar10 role's state keeper on the host, which imports this very file (``mocha.cloud.helper_files``
writes it beside the keeper): so it needs nothing but the Python standard library.

Timestamps are read as UTC. Memento writes the host's local time without a zone, so on a host not set to UTC the
times are shifted as a whole; the figures made from them (rates, wall time) are differences and do not change.
"""

import calendar
import posixpath
import re
import time

try:
    from ansible_collections.mocha.cloud.plugins.module_utils.snapshot_state import SNAPSHOT_FILE, SNAPSHOT_NAME
except ImportError:  # on a host, beside the state keeper: the file mocha.cloud.helper_files writes with this one
    from snapshot_state import SNAPSHOT_FILE, SNAPSHOT_NAME

# Two log styles exist. Mocha <= 0.1 (the docs' tutorials) logged through Logging.jl:
#   20-Nov 06:58:26:INFO:root:004600 :: TRAIN obj-val = 1.07695698
#   20-Nov 07:30:35:INFO:root:  Accuracy (avg over 10000) = 62.8200%
#   22-Nov 15:05:26:INFO:root:Saving snapshot to snapshot-050000.jld...
# Mocha 0.2+ (v0.3.1 included) logs through Memento (src/logging.jl: DefaultFormatter("[{date} | {level} | {name}]: {msg}"),
# the date as yyyy-mm-dd HH:MM:SS in the host's local time zone) and TrainingSummary prints
# " TRAIN iter=004600 obj_val=1.07695698" (src/coffee/training-summary.jl, format_statistic in src/solvers.jl):
#   [2017-11-22 15:04:52 | info | Mocha]:  TRAIN iter=048800 obj_val=0.60837102
#   [2017-11-22 15:04:59 | info | Mocha]: ## Performance on Validation Set after 49000 iterations
#   [2017-11-22 15:04:59 | info | Mocha]:   Accuracy (avg over 10000) = 76.5900%
#   [2017-11-22 15:05:26 | info | Mocha]: Saving snapshot to snapshot-050000.jld...
#   [2017-11-22 16:00:02 | info | Mocha]: Loading existing model from /var/lib/mocha-cifar10/run/snapshots/snapshot-050000.jld
_TS_LOGGING = r"(?P<ts>\d{2}-[A-Z][a-z]{2} \d{2}:\d{2}:\d{2}):(?P<level>[A-Z]+):[^:]*:"
_TS_MEMENTO = r"\[(?P<ts>[^|\]]+?)\s*\|\s*(?P<level>\w+)\s*\|\s*[^\]]*\]:"
_LINE = re.compile(r"^\s*(?:{}|{})(?P<msg>.*)$".format(_TS_LOGGING, _TS_MEMENTO.replace("?P<ts>", "?P<ts2>").replace("?P<level>", "?P<level2>")))
_TRAIN_OLD = re.compile(r"^\s*(?P<iter>\d+) :: TRAIN obj-val = (?P<obj>[-+0-9.eEnaNinf]+)")
_TRAIN_NEW = re.compile(r"^\s*TRAIN\b.*?\biter=(?P<iter>\d+).*?\bobj_val=(?P<obj>[-+0-9.eEnaNinf]+)")
_ACCURACY = re.compile(r"^\s*Accuracy \(avg over (?P<n>\d+)\) = (?P<acc>[0-9.]+)%")
_SNAPSHOT = re.compile(r"Saving snapshot to (?P<file>" + SNAPSHOT_FILE + ")")
_LOADED = re.compile(r"Loading existing model from (?P<file>.*\S)")  # the path to the end of the line (it may hold spaces)
_VALIDATION_AFTER = re.compile(r"## Performance on Validation Set(?: after (?P<iter>\d+) iterations)?")


def parse_timestamp(text, year=None):
    """Seconds since the epoch (UTC) for a Logging.jl ('20-Nov 06:58:26') or Memento/ISO timestamp."""
    text = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d-%b %H:%M:%S"):
        try:
            parsed = time.strptime(text.split(".")[0], fmt)
        except ValueError:
            continue
        if fmt == "%d-%b %H:%M:%S":
            parsed = time.struct_time((year or 2000,) + tuple(parsed)[1:])
        return float(calendar.timegm(parsed))
    return None


def snapshot_iteration(path):
    """The iteration of the snapshot a model was loaded from (the path's last part named by SNAPSHOT_NAME), 0 when the
    model loaded is not a snapshot (training from the start)."""
    snap = SNAPSHOT_NAME.match(posixpath.basename(path))
    return int(snap.group("iter")) if snap else 0


def parse_mocha_log(text, year=None):
    """Parse a Mocha training log into curves.

    Returns {'train': [{'iter', 'obj', 't'}], 'validation': [{'iter', 'accuracy', 'n', 't'}],
    'snapshots': [{'iter', 'file'}], 'resumed_from': [files], 'resumes': [{'iter', 'file', 't'}], 'train_all',
    'first_t', 'last_t', 'lines'}.
    A run resumed from a snapshot repeats the iterations after it: 'train' and 'validation' keep each iteration
    once (the values of the session that went on), 'train_all' keeps every summary line in log order (for timing),
    and 'resumes' marks where each resumed session started (iteration 0 for a restart without a snapshot).
    Times are seconds (a log without years is read as year 2000 and made monotonic across New Year).
    Validation results carry the iteration of the last training summary before them when the log
    does not say it.
    """
    train, validation, snapshots, resumed, resumes, train_all = [], [], [], [], [], []
    loaded = False
    first_t = last_t = None
    cur_year = year or 2000
    last_iter = 0
    pending_iter = None
    lines = 0
    for raw_line in text.splitlines():
        match = _LINE.match(raw_line)
        if not match:
            continue
        lines += 1
        ts_text = match.group("ts") or match.group("ts2")
        msg = match.group("msg")
        t = parse_timestamp(ts_text, cur_year)
        if t is not None:
            if last_t is not None and t < last_t - 86400 and match.group("ts"):
                cur_year += 1  # the Logging.jl format has no year: the log crossed New Year
                t = parse_timestamp(ts_text, cur_year)
            first_t = t if first_t is None else first_t
            last_t = t
        m = _TRAIN_OLD.match(msg) or _TRAIN_NEW.match(msg)
        if m:
            it = int(m.group("iter"))
            point = {"iter": it, "obj": float(m.group("obj")), "t": t}
            train_all.append(point)
            if train and it <= train[-1]["iter"]:
                # A new session repeats iterations the last one had reached: each counts once, as redone.
                if not loaded:
                    resumes.append({"iter": 0, "file": None, "t": t})  # restarted without a snapshot
                train[:] = [p for p in train if p["iter"] < it]
                validation[:] = [v for v in validation if v["iter"] < it]
            loaded = False
            last_iter = it
            train.append(point)
            continue
        m = _VALIDATION_AFTER.search(msg)
        if m:
            pending_iter = int(m.group("iter")) if m.group("iter") else last_iter
            continue
        m = _ACCURACY.match(msg)
        if m:
            it = pending_iter if pending_iter is not None else last_iter
            validation.append({"iter": it, "accuracy": float(m.group("acc")), "n": int(m.group("n")), "t": t})
            pending_iter = None
            continue
        m = _SNAPSHOT.search(msg)
        if m:
            snapshots.append({"iter": int(m.group("iter")), "file": m.group("file")})
            continue
        m = _LOADED.search(msg)
        if m:
            resumed.append(m.group("file"))
            cut = snapshot_iteration(m.group("file"))
            resumes.append({"iter": cut, "file": m.group("file"), "t": t})
            train[:] = [p for p in train if p["iter"] <= cut]
            validation[:] = [v for v in validation if v["iter"] <= cut]
            last_iter = cut
            loaded = True
    return {
        "train": train,
        "train_all": train_all,
        "validation": validation,
        "snapshots": snapshots,
        "resumed_from": resumed,
        "resumes": resumes,
        "first_t": first_t,
        "last_t": last_t,
        "lines": lines,
    }


def start_iteration(text):
    """The iteration the first training session in TEXT started from: the snapshot Mocha says it loaded ("Loading
    existing model from .../snapshot-NNNNNN.jld") before its first training summary, 0 when a summary comes first or
    the model loaded is not a snapshot (training from the start), None when TEXT says neither yet."""
    for raw_line in text.splitlines():
        match = _LINE.match(raw_line)
        if not match:
            continue
        msg = match.group("msg")
        if _TRAIN_OLD.match(msg) or _TRAIN_NEW.match(msg):
            return 0
        loaded = _LOADED.search(msg)
        if loaded:
            return snapshot_iteration(loaded.group("file"))
    return None


def last_iteration(text):
    """The iteration of the last training summary in TEXT (log order), 0 when there is none."""
    last = 0
    for raw_line in text.splitlines():
        match = _LINE.match(raw_line)
        train = match and (_TRAIN_OLD.match(match.group("msg")) or _TRAIN_NEW.match(match.group("msg")))
        if train:
            last = int(train.group("iter"))
    return last


def seconds_per_interval(train, interval=200):
    """Seconds per `interval` iterations over the whole log, validation passes and snapshots included.

    The log is split into sessions where the iteration stops increasing (a run resumed from a snapshot),
    so the time a run was down is left out; the rate is total time over total iterations of the sessions.
    """
    sessions, current = [], []
    for point in train:
        if point["t"] is None:
            continue
        if current and point["iter"] <= current[-1]["iter"]:
            sessions.append(current)
            current = []
        current.append(point)
    if current:
        sessions.append(current)
    seconds = sum(s[-1]["t"] - s[0]["t"] for s in sessions if len(s) > 1)
    iterations = sum(s[-1]["iter"] - s[0]["iter"] for s in sessions if len(s) > 1)
    if iterations <= 0:
        return None
    return round(seconds * interval / iterations, 3)


def progress(parsed, max_iter, now=None, window=5):
    """Where a run stands: iteration, objective, last accuracy, iterations per second, ETA in seconds."""
    train = parsed["train"]
    out = {
        "iteration": 0,
        "max_iter": int(max_iter),
        "objective": None,
        "last_accuracy": None,
        "last_accuracy_iter": None,
        "it_per_s": None,
        "eta_s": None,
        "percent": 0.0,
    }
    if train:
        out["iteration"] = train[-1]["iter"]
        out["objective"] = train[-1]["obj"]
        timeline = parsed.get("train_all") or train  # log order: a resume shows as the iteration going back
        recent = [p for p in timeline[-(window + 1):] if p["t"] is not None]
        # Only measure within the current session: stop at a resume (iteration going backwards).
        span = [recent[-1]] if recent else []
        for p in reversed(recent[:-1]):
            if p["iter"] >= span[0]["iter"]:
                break
            span.insert(0, p)
        if len(span) >= 2 and span[-1]["t"] > span[0]["t"]:
            out["it_per_s"] = round((span[-1]["iter"] - span[0]["iter"]) / (span[-1]["t"] - span[0]["t"]), 3)
    if parsed["validation"]:
        out["last_accuracy"] = parsed["validation"][-1]["accuracy"]
        out["last_accuracy_iter"] = parsed["validation"][-1]["iter"]
    if out["max_iter"] > 0:
        out["percent"] = round(100.0 * min(out["iteration"], out["max_iter"]) / out["max_iter"], 1)
    if out["it_per_s"]:
        out["eta_s"] = int(round(max(out["max_iter"] - out["iteration"], 0) / out["it_per_s"]))
    return out


def metrics(parsed, max_iter, summary_interval=200, extra=None):
    """The metrics.json document for a finished (or stopped) run."""
    train = parsed["train"]
    validation = parsed["validation"]
    wall = None
    if parsed["first_t"] is not None and parsed["last_t"] is not None:
        wall = parsed["last_t"] - parsed["first_t"]
    doc = {
        "iterations": train[-1]["iter"] if train else 0,
        "max_iter": int(max_iter),
        "completed": bool(train) and train[-1]["iter"] >= int(max_iter),
        "seconds_per_200_iterations": seconds_per_interval(parsed.get("train_all", train), 200),
        "summary_interval": int(summary_interval),
        "objective_curve": [[p["iter"], p["obj"]] for p in train],
        "accuracy_curve": [[p["iter"], p["accuracy"]] for p in validation],
        "final_accuracy": validation[-1]["accuracy"] if validation else None,
        "final_objective": train[-1]["obj"] if train else None,
        "wall_time_s": wall,
        "snapshots": [s["file"] for s in parsed["snapshots"]],
        "resumed_from": parsed["resumed_from"],
        "resumes": [{"iteration": r["iter"], "snapshot": r["file"]} for r in parsed.get("resumes", [])],
    }
    doc.update(extra or {})
    return doc
