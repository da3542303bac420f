# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure helpers for the one supervisor pattern of long jobs (roles/common/templates/jobctl.sh.j2).

Every long job on a host (a Julia build, a training run) is run by a rendered ``jobctl`` with the same verbs (start,
stop, status, wait, run) and the same one-line JSON status. These functions read that status and make the one
progress line a poll prints: for a build, elapsed time against the time expected for this host; for a training run,
the iteration, objective, accuracy, speed, ETA and the time left before the instance expires. The Mocha log itself
is read by mocha_log (which this module does not import: the figures come in as mocha_log.progress's answer).
"""

import calendar
import json
import re
import time

ENDED_PHASES = ("finished", "failed", "stopped", "interrupted")


class JobError(Exception):
    """A status that cannot be read."""


def parse_status(text):
    """The status JSON printed by ``jobctl status`` / ``jobctl wait`` (the last JSON line of the output)."""
    for line in reversed((text or "").strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                status = json.loads(line)
            except ValueError as exc:
                raise JobError(f"jobctl printed a status that is not JSON: {line[:200]!r}") from exc
            if not isinstance(status, dict) or "running" not in status or "state" not in status:
                raise JobError(f"jobctl status lacks running/state: {line[:200]!r}")
            status["phase"] = phase(status)
            status["ended"] = ended(status)
            return status
    raise JobError(f"jobctl printed no status: {(text or '')[-300:]!r}")


def phase(status):
    """never-started, starting, running, finished, failed, stopped or interrupted."""
    state = str(status.get("state") or "never-started")
    return state.split(" ", 1)[0] if not status.get("running") else "running"


def ended(status):
    return not status.get("running") and phase(status) in ENDED_PHASES


def epoch(value):
    """Seconds since the epoch for an int/float, a digit string, or an ISO 8601 UTC time ('2026-12-01T12:00:00Z')."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|\+00:00)?", text)
    if not m:
        return None
    return float(calendar.timegm(tuple(int(x) for x in m.groups()[:6]) + (0, 0, 0)))


def format_duration(seconds, hour_seconds=True):
    """3725 -> '1h02m05s' ('1h02m' without hour_seconds), 125 -> '2m05s', 9 -> '9s', None -> 'unknown';
    a negative time reads as 0s."""
    if seconds is None:
        return "unknown"
    seconds = int(round(max(seconds, 0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m" + (f"{secs:02d}s" if hour_seconds else "")
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def progress_line(prog):
    """One human line of mocha_log.progress()'s answer: 'iteration 4600/70000 (6.6%), objective 1.0770, last test accuracy 62.82% (at 4000), ...'."""
    parts = [f"iteration {prog['iteration']}/{prog['max_iter']} ({prog['percent']:.1f}%)"]
    parts.append("objective %s" % ("{:.4f}".format(prog["objective"]) if prog["objective"] is not None else "n/a"))
    if prog["last_accuracy"] is not None:
        parts.append(f"last test accuracy {prog['last_accuracy']:.2f}% (at {prog['last_accuracy_iter']})")
    else:
        parts.append("last test accuracy n/a")
    parts.append("%s it/s" % (prog["it_per_s"] if prog["it_per_s"] is not None else "n/a"))
    parts.append("ETA {}".format(format_duration(prog["eta_s"])))
    return ", ".join(parts)


def duration(seconds):
    """3725 -> '1h02m', 125 -> '2m05s', 9 -> '9s', None -> 'unknown'."""
    return format_duration(seconds, hour_seconds=False)


def build_line(status, expected_s=None):
    """'[julia-build running] 12m30s of about 1h00m expected (21%) | CC src/codegen.o'."""
    elapsed = status.get("elapsed_s")
    parts = [f"[{status.get('job', 'job')} {status['phase']}]", duration(elapsed)]
    if expected_s:
        pct = f" ({min(100, round(100.0 * (elapsed or 0) / float(expected_s)))}%)" if elapsed is not None else ""
        parts[-1] += f" of about {duration(expected_s)} expected for this host{pct}"
    if status.get("rc") is not None and not status.get("running"):
        parts.append(f"rc={status['rc']}")
    line = " ".join(parts)
    last = (status.get("last_line") or "").strip()
    return f"{line} | {last}" if last else line


def training_line(status, prog, expires_at=None, now=None, run_id=""):
    """One line per poll of a training run: where it stands, its speed and ETA, and the instance's time left."""
    now = time.time() if now is None else now
    head = f"[{('run ' + run_id + ' ') if run_id else ''}{status['phase']}]"
    parts = [f"iteration {prog['iteration']}/{prog['max_iter']} ({prog['percent']:.1f}%)",
             "objective " + (f"{prog['objective']:.4f}" if prog.get("objective") is not None else "n/a")]
    if prog.get("last_accuracy") is not None:
        parts.append(f"test accuracy {prog['last_accuracy']:.2f}% (at {prog['last_accuracy_iter']})")
    else:
        parts.append("test accuracy n/a")
    parts.append((f"{prog['it_per_s']:.2f}" if prog.get("it_per_s") is not None else "n/a") + " it/s")
    parts.append("ETA " + duration(prog.get("eta_s")))
    left = seconds_left(expires_at, now)
    if left is not None:
        text = f"instance expires in {duration(left)}"
        if prog.get("eta_s") is not None and status.get("running") and prog["eta_s"] > left:
            text += " (BEFORE the run would end: results so far are kept in its snapshots)"
        parts.append(text)
    return head + " " + ", ".join(parts)


def seconds_left(expires_at, now=None):
    at = epoch(expires_at)
    if at is None:
        return None
    return at - (time.time() if now is None else now)
