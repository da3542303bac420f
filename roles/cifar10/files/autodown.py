#!/usr/bin/env python3
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mocha-cloud idle watch: an instance this project launched powers itself off when its run is over and nobody uses it,
even when the controller that started the run is gone. The cifar10 role installs it (with idle_watch.py beside it) on
an instance of the project's EC2 inventory, never on a host it did not launch, and runs it under the same supervisor
as the training (jobctl).

    autodown.py watch --config CONFIG     every interval: one round of idle_watch.decide(), until it powers off or disarms
    autodown.py check --config CONFIG     one round, printed as JSON; changes nothing (tests, a person)

CONFIG (JSON, written by the role): {instance_id, idle_seconds, interval, roots, own_dir, imds}. Each round asks the
metadata service (IMDSv2) which instance this is, reads every jobctl under the roots (trainings, state keepers) and the
SSH sessions in use. When nothing has run for idle_seconds it powers the machine off (systemctl poweroff, poweroff or
shutdown -P now; never halt); EC2 then terminates the instance, whose shutdown behaviour is terminate. When the
instance id is not the armed one (an image made from the instance, another machine) it removes CONFIG and exits:
nothing is ever powered off there. Standard library only.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import idle_watch  # noqa: E402  (the collection's module_utils, written beside this file by mocha.cloud.helper_files)


def say(msg):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: UP017
    sys.stdout.write(f"[autodown {stamp}] {msg}\n")
    sys.stdout.flush()


def job_status(ctl):
    try:
        out = subprocess.run([ctl, "status"], capture_output=True, text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    return dict(idle_watch.parse_status(out), job=os.path.basename(os.path.dirname(ctl)) or ctl)


def look(config):
    """What one round sees: the instance id, the jobs, the SSH sessions."""
    jobs = [job_status(ctl) for ctl in idle_watch.find_jobctls(config["roots"], config["own_dir"])]
    return {"instance_id": idle_watch.imds_instance_id(config["imds"]), "jobs": jobs,
            "sessions": idle_watch.ssh_sessions(idle_watch.read_procs())}


def load(path):
    with open(path, encoding="utf-8") as handle:
        return idle_watch.check_config(json.load(handle))


def poweroff():
    argv = idle_watch.poweroff_argv(os.path.isdir("/run/systemd/system"))
    if argv is None:
        say("no systemctl, poweroff or shutdown on this machine: cannot power off")
        return False
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        say(f"{' '.join(argv)} failed ({type(exc).__name__}: {exc})")
        return False
    if done.returncode != 0:
        say(f"{' '.join(argv)} exited {done.returncode}: {(done.stderr or done.stdout).strip()[:300]}")
        return False
    say(f"{' '.join(argv)}: the machine powers off")
    return True


def watch(path):
    config = load(path)
    state = {"started_at": time.time(), "last_active": None}
    say(f"armed for instance {config['instance_id']}: powers off {config['idle_seconds']:.0f} s after its last training "
        f"and state keeper end and no SSH session is in use (watching {', '.join(config['roots'])})")
    last = (None, None)
    while True:
        action, state, msg = idle_watch.decide(config, look(config), state, time.time())
        # One line per change: a countdown that only counts is not repeated.
        counting = action == "wait" and msg.startswith("idle for")
        if (action, msg) != last and not (counting and last[0] == "wait" and (last[1] or "").startswith("idle for")):
            say(msg)
        last = (action, msg)
        if action == "disarm":
            try:
                os.remove(path)
            except OSError:
                pass
            return 0
        if action == "poweroff" and poweroff():
            # The machine is going down: stay until it does (a second poweroff is not needed).
            while True:
                time.sleep(60)
        time.sleep(config["interval"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("verb", choices=["watch", "check"])
    ap.add_argument("--config", required=True)
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.verb == "check":
            config = load(args.config)
            now = time.time()
            action, _state, msg = idle_watch.decide(config, look(config), {"started_at": now, "last_active": None}, now)
            print(json.dumps({"action": action, "message": msg}))
            return 0
        return watch(args.config)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"autodown: {args.config}: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
