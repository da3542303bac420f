#!/usr/bin/env python3
"""FAKE first boot of a fresh Ubuntu image (tests only; never ships): unattended-upgrades holding the dpkg lock.

On a fresh Ubuntu instance, apt-daily and unattended-upgrades start minutes after the first boot (their timers are
persistent) and hold the dpkg lock for minutes; cloud-init's own package runs hold it too. Any package manager call
of a playbook meanwhile waits for the lock (apt-get: "Could not get lock /var/lib/dpkg/lock-frontend. It is held by
process N (unattended-upgr)") up to its timeout, 60 s for the apt module unless told otherwise.

This stand-in takes the same locks the same way (fcntl write locks on <root>/var/lib/dpkg/lock-frontend and
<root>/var/lib/dpkg/lock, as apt's GetLock does), under the process name unattended-upgr, and keeps them until a
package manager (a process named apt-get, apt, dpkg or aptitude) has been waiting for WAIT seconds in one go, or
until MAX seconds have passed. WAIT is longer than apt's default wait (60 s), so a package task that does not wait
longer fails here as it would on a real first boot, and one that does gets the lock; timing it from the first waiter
rather than from the boot keeps that true however busy the machine is.

    first_boot.py [--root DIR] [--wait SECONDS] [--max SECONDS] [--waiter NAME ...] [--log FILE]
"""

import argparse
import fcntl
import os
import sys
import time

WAITERS = ("apt-get", "apt", "dpkg", "aptitude")


def log(path, msg):
    line = f"[{time.strftime('%Y-%m-%dT%H:%M:%S')}] FAKE first boot (unattended-upgrades): {msg}\n"
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line)
    else:
        sys.stderr.write(line)


def waiting(names, me):
    """PIDs of package managers running (and so waiting for the lock this process holds)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
                comm = handle.read().strip()
        except OSError:
            continue
        if comm in names:
            found.append(int(pid))
    return found


def hold(root, wait, most, names, log_path, poll=0.5):
    lock_dir = os.path.join(root, "var", "lib", "dpkg")
    os.makedirs(lock_dir, exist_ok=True)
    fds = []
    for name in ("lock-frontend", "lock"):  # the order apt takes them in
        fd = os.open(os.path.join(lock_dir, name), os.O_RDWR | os.O_CREAT, 0o640)
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fds.append(fd)
    start = time.monotonic()
    log(log_path, f"holding {lock_dir}/lock-frontend and lock (pid {os.getpid()})")
    since = None
    while True:
        now = time.monotonic()
        if waiting(names, os.getpid()):
            since = since if since is not None else now
            if now - since >= wait:
                why = f"a package manager waited {now - since:.0f} s"
                break
        else:
            since = None
        if now - start >= most:
            why = f"{most:.0f} s passed"
            break
        time.sleep(poll)
    for fd in fds:
        os.close(fd)  # closing releases the fcntl locks
    log(log_path, f"released the dpkg lock after {time.monotonic() - start:.0f} s ({why})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="/", help="the system whose var/lib/dpkg is locked")
    ap.add_argument("--wait", type=float, default=75.0, help="release once a package manager waited this long")
    ap.add_argument("--max", type=float, default=900.0, help="release after this long whatever happens")
    ap.add_argument("--waiter", action="append", help="process names counted as waiting package managers")
    ap.add_argument("--log", default="", help="append what happens to this file (default stderr)")
    args = ap.parse_args(argv)
    try:
        with open("/proc/self/comm", "w", encoding="utf-8") as handle:
            handle.write("unattended-upgr")  # the name apt reports for the lock's holder on a real first boot
    except OSError:
        pass
    hold(args.root, args.wait, args.max, tuple(args.waiter or WAITERS), args.log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
