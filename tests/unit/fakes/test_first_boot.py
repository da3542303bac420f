"""The FAKE first boot (tests/fakes/first_boot.py) holds the dpkg lock as unattended-upgrades does, with fcntl write
locks apt cannot take, until a package manager has waited long enough in one go (or the cap passes)."""

import fcntl
import os
import subprocess
import sys
import time

import pytest
from conftest import REPO

FAKE = REPO / "tests" / "fakes" / "first_boot.py"
WAITER = "fakewait24"  # a name no real process has, so other package managers on this machine do not count


def locked(path):
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def waiter(tmp_path, seconds):
    exe = tmp_path / WAITER
    if not exe.exists():
        exe.symlink_to("/bin/sleep")  # the process is named after the link, as apt-get is after its file
    return subprocess.Popen([str(exe), str(seconds)])


@pytest.fixture
def first_boot(tmp_path):
    log = tmp_path / "first-boot.log"
    proc = subprocess.Popen([sys.executable, str(FAKE), "--root", str(tmp_path), "--wait", "1.5", "--max", "8",
                             "--waiter", WAITER, "--log", str(log)])
    for _ in range(100):
        if log.exists() and "holding" in log.read_text():
            break
        time.sleep(0.05)
    yield proc, tmp_path / "var" / "lib" / "dpkg", log
    proc.kill()
    proc.wait()


def test_it_holds_both_locks_until_a_package_manager_waited_long_enough(first_boot, tmp_path):
    proc, dpkg, log = first_boot
    assert locked(dpkg / "lock-frontend") and locked(dpkg / "lock")
    for _ in range(2):  # waiters that give up before the wait: the lock stays held (like apt's 60 s against minutes)
        waiter(tmp_path, 0.8).wait()
        time.sleep(0.7)
    assert proc.poll() is None and locked(dpkg / "lock-frontend")
    started = time.monotonic()
    patient = waiter(tmp_path, 6)
    assert proc.wait(timeout=10) == 0
    patient.kill()
    assert 1.5 <= time.monotonic() - started < 5
    assert not locked(dpkg / "lock-frontend") and not locked(dpkg / "lock")
    assert "a package manager waited" in log.read_text()


def test_it_lets_go_after_its_cap_anyway(tmp_path):
    proc = subprocess.run([sys.executable, str(FAKE), "--root", str(tmp_path), "--wait", "60", "--max", "1",
                           "--waiter", WAITER], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and "released the dpkg lock" in proc.stderr and "1 s passed" in proc.stderr
