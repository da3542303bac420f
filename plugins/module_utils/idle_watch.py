# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rules of the idle watch: when an instance this project launched powers itself off after its run.

The cifar10 role ships this file to the instance beside its watch (roles/cifar10/files/autodown.py), as it ships
snapshot_state.py beside the state keeper: standard library only, Python 3.6 or newer, no collection import. The
controller's side (which host may be armed at all, what the controller itself ends) is plugins/module_utils/autodown.py.

One round of the watch (decide()) looks at:
- the instance id the metadata service gives (IMDSv2) against the one the watch was armed for: another id is an
  image made from the instance, or another machine: the watch disarms itself and never powers that machine off; no
  answer powers nothing off either;
- every job under the watched roots (each training's and state keeper's jobctl): one running is activity;
- SSH sessions in use: a pseudo-terminal whose process descends from sshd (as SkyPilot's autostop counts them);
- the time since the last activity (the latest of: the last job's end, the last round that saw activity, the watch's
  start). When it reaches the grace period, the instance powers off; its shutdown behaviour (terminate, as the
  aws_gpu_instance role launches it) makes EC2 terminate it.
"""

import json
import os
import re
import shutil
import urllib.error
import urllib.request

INSTANCE_ID_RE = re.compile(r"i-[0-9a-f]{8}(?:[0-9a-f]{9})?")
IMDS_DEFAULT = "http://169.254.169.254"
IMDS_TOKEN_TTL = "300"
# Unix 98 pseudo-terminal slaves (/dev/pts/N) have major numbers 136 to 143.
PTS_MAJORS = range(136, 144)
SSHD_NAMES = ("sshd", "sshd-session")
JOBCTL = "jobctl"
MAX_DEPTH = 5


class WatchError(ValueError):
    """A config the watch refuses; the message says what is wrong."""


def check_config(config):
    """The config as the watch uses it: {instance_id, idle_seconds, interval, roots, own_dir, imds}, or WatchError."""
    if not isinstance(config, dict):
        raise WatchError("the config must be a JSON object")
    instance_id = config.get("instance_id")
    if not isinstance(instance_id, str) or not INSTANCE_ID_RE.fullmatch(instance_id):
        raise WatchError(f"instance_id must be an EC2 instance id (i- and 8 or 17 hex digits), got {instance_id!r}")
    idle = config.get("idle_seconds")
    if isinstance(idle, bool) or not isinstance(idle, (int, float)) or not 1 <= idle <= 86400:
        raise WatchError(f"idle_seconds must be a number from 1 to 86400, got {idle!r}")
    roots = config.get("roots")
    if not isinstance(roots, list) or not roots or not all(isinstance(r, str) and r.startswith("/") for r in roots):
        raise WatchError(f"roots must be a list of absolute directories, got {roots!r}")
    interval = config.get("interval", min(30.0, max(1.0, idle / 4.0)))
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0.2 <= interval <= 300:
        raise WatchError(f"interval must be 0.2 to 300 seconds, got {interval!r}")
    imds = config.get("imds") or IMDS_DEFAULT
    if not isinstance(imds, str) or not re.fullmatch(r"https?://[A-Za-z0-9.:\[\]-]+/?", imds):
        raise WatchError(f"imds must be the metadata service's http://host[:port], got {imds!r}")
    return {"instance_id": instance_id, "idle_seconds": float(idle), "interval": float(interval), "roots": list(roots),
            "own_dir": str(config.get("own_dir") or ""), "imds": imds}


def decide(config, seen, state, now):
    """One round: (action, state, message). action is 'disarm', 'wait' or 'poweroff'.

    config: check_config()'s answer. seen: {instance_id: the id IMDS gave or None when it did not answer, jobs: [{job,
    running, ended_at}], sessions: number of SSH sessions in use}. state: {started_at, last_active} of the watch (epoch
    seconds; last_active None until a round sees activity). now: epoch seconds."""
    state = dict(state)
    observed = seen.get("instance_id")
    if observed is None:
        return "wait", state, "the metadata service did not answer: this machine is not confirmed as the armed instance, nothing is powered off"
    if observed != config["instance_id"]:
        return "disarm", state, (f"this machine is instance {observed}, not {config['instance_id']} that the watch was armed "
                                 "for (an image made from it, or another machine): the watch disarms itself")
    running = [str(j.get("job") or "?") for j in seen.get("jobs") or [] if j.get("running")]
    sessions = int(seen.get("sessions") or 0)
    if running or sessions:
        state["last_active"] = now
        why = []
        if running:
            why.append("running: " + ", ".join(sorted(running)))
        if sessions:
            why.append(f"{sessions} SSH session(s) in use")
        return "wait", state, "busy (" + "; ".join(why) + "): the grace period starts when this ends"
    ends = [j.get("ended_at") for j in seen.get("jobs") or []]
    ends = [e for e in ends if isinstance(e, (int, float)) and not isinstance(e, bool) and e <= now]
    idle_since = max([state.get("started_at") or now, state.get("last_active") or 0] + ends)
    left = config["idle_seconds"] - (now - idle_since)
    if left <= 0:
        return "poweroff", state, f"idle for {now - idle_since:.0f} s (grace {config['idle_seconds']:.0f} s): powering off"
    return "wait", state, f"idle for {now - idle_since:.0f} s; powers off in {left:.0f} s unless a training or an SSH session starts"


# ------------------------------------------------------------------------------------------------
# What the round looks at (thin: the host's /proc, the jobs' jobctl, the metadata service)
# ------------------------------------------------------------------------------------------------
def find_jobctls(roots, own_dir="", max_depth=MAX_DEPTH):
    """Every executable file named jobctl under ROOTS (at most MAX_DEPTH levels down), the watch's own left out."""
    found = []
    own = os.path.realpath(own_dir) if own_dir else ""
    for root in roots:
        base = os.path.realpath(root)
        if not os.path.isdir(base):
            continue
        for here, dirs, files in os.walk(base):
            depth = here[len(base):].count(os.sep)
            if own and (here == own or here.startswith(own + os.sep)):
                dirs[:] = []
                continue
            if depth >= max_depth:
                dirs[:] = []
            if JOBCTL in files:
                path = os.path.join(here, JOBCTL)
                if os.access(path, os.X_OK) and path not in found:
                    found.append(path)
    return sorted(found)


def parse_status(text):
    """{running, ended_at} from jobctl's JSON status line; a job that cannot say counts as running (never power off
    under a job whose state is unknown)."""
    try:
        doc = json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError, AttributeError):
        return {"running": True, "ended_at": None, "unreadable": True}
    if not isinstance(doc, dict):
        return {"running": True, "ended_at": None, "unreadable": True}
    ended = doc.get("ended_at")
    return {"running": doc.get("running") is True, "ended_at": ended if isinstance(ended, int) and not isinstance(ended, bool) else None}


def parse_proc_stat(text):
    """(comm, ppid, tty_nr) from /proc/<pid>/stat, or None. comm may hold spaces and parentheses: it ends at the last ')'."""
    try:
        head, rest = text.rsplit(")", 1)
        comm = head.split("(", 1)[1]
        fields = rest.split()
        return comm, int(fields[1]), int(fields[4])
    except (ValueError, IndexError):
        return None


def ssh_sessions(procs):
    """How many pseudo-terminals (/dev/pts/N) have a process that descends from sshd. PROCS: {pid: (comm, ppid, tty_nr)}.
    The controller's own Ansible tasks run without a terminal (pipelining) and do not count."""
    ttys = set()
    for pid, (_comm, _ppid, tty) in procs.items():
        major = (tty >> 8) & 0xFFF
        if major not in PTS_MAJORS:
            continue
        seen, cur = set(), procs.get(pid)
        parent = cur[1] if cur else 0
        while parent and parent not in seen:
            seen.add(parent)
            entry = procs.get(parent)
            if entry is None:
                break
            if entry[0] in SSHD_NAMES:
                ttys.add(tty)
                break
            parent = entry[1]
    return len(ttys)


def read_procs(proc="/proc"):
    """{pid: (comm, ppid, tty_nr)} of every process that can be read."""
    out = {}
    try:
        names = os.listdir(proc)
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(os.path.join(proc, name, "stat"), encoding="utf-8", errors="replace") as handle:
                parsed = parse_proc_stat(handle.read())
        except OSError:
            continue
        if parsed:
            out[int(name)] = parsed
    return out


# The metadata service is reached directly, never through a proxy (a proxy cannot reach the link-local address, and
# IMDSv2 refuses a token request that carries X-Forwarded-For).
IMDS_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def imds_instance_id(endpoint=IMDS_DEFAULT, timeout=2.0):
    """The instance id the metadata service gives (IMDSv2: a session token first), or None when it does not answer or
    answers something that is not an instance id."""
    base = (endpoint or IMDS_DEFAULT).rstrip("/")
    try:
        req = urllib.request.Request(base + "/latest/api/token", method="PUT",
                                     headers={"X-aws-ec2-metadata-token-ttl-seconds": IMDS_TOKEN_TTL})
        with IMDS_OPENER.open(req, timeout=timeout) as resp:
            token = resp.read().decode("ascii", "replace")
        req = urllib.request.Request(base + "/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token})
        with IMDS_OPENER.open(req, timeout=timeout) as resp:
            text = resp.read(64).decode("ascii", "replace").strip()
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return text if INSTANCE_ID_RE.fullmatch(text) else None


def poweroff_argv(systemd_running, which=shutil.which):
    """The command that powers the machine off: systemctl poweroff where systemd is PID 1, else poweroff, else
    shutdown -P now. Never halt: EC2 does not count a halt as a shutdown (the instance keeps running, and billing)."""
    if systemd_running:
        return ["systemctl", "poweroff"]
    path = which("poweroff")
    if path:
        return [path]
    path = which("shutdown")
    if path:
        return [path, "-P", "now"]
    return None
