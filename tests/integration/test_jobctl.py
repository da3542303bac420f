"""The one supervisor of long jobs (roles/common/templates/jobctl.sh.j2) and its polling module job_status.

jobctl is rendered by ansible-playbook exactly as the common role renders it, then run for real here (nohup mode):
start, the lock, wait, status, stop, a hard kill, a failing command; the module job_status polls those jobs. Its
pure helpers are tested in tests/unit/plugins/module_utils/test_job.py.
"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import job
from ansible_collections.mocha.cloud.plugins.modules import job_status
from ansible_collections.mocha.cloud.tests.unit.plugins.modules.utils import run_module
from conftest import REPO

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', repo ~ '/roles/common/templates/jobctl.sh.j2') }}"
        dest: "{{ out }}"
        mode: "0755"
"""


def render(tmp_path, name, argv):
    d = tmp_path / name
    d.mkdir()
    (tmp_path / "play.yml").write_text(PLAY)
    extra = {"repo": str(REPO), "out": str(d / "jobctl"), "ansible_python_interpreter": sys.executable,
             "common_job": {"name": name, "description": f"test job {name}", "dir": str(d), "log": str(d / "job.log"),
                             "argv": argv, "stop_timeout": 2},
             "common_job_supervisor_selected": "nohup", "common_job_unit": f"mocha-cloud-{name}.service"}
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
                          str(tmp_path / "play.yml"), "-e", json.dumps(extra)], capture_output=True, text=True, cwd=REPO,
                         env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), MOCHA_CLOUD_SETTINGS="none"), check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    return d / "jobctl"


def ctl(path, *args, check=False):
    return subprocess.run([str(path), *args], capture_output=True, text=True, check=check)


def status(path):
    return job.parse_status(ctl(path, "status").stdout)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    base = tmp_path_factory.mktemp("jobs")
    made = {
        "quick": render(base, "quick", ["sh", "-c", "echo step one; sleep 1; echo all done"]),
        "slow": render(base, "slow", ["sh", "-c", "i=0; while [ $i -lt 300 ]; do echo tick $i; i=$((i+1)); sleep 0.2; done"]),
        "fails": render(base, "fails", ["sh", "-c", "echo broken >&2; exit 7"]),
        "killed": render(base, "killed", ["sleep", "300"]),
    }
    yield made
    for path in made.values():
        ctl(path, "stop")


def test_a_job_runs_to_the_end_and_says_so(jobs):
    assert status(jobs["quick"])["state"] == "never-started"
    started = ctl(jobs["quick"], "start")
    assert started.returncode == 0 and "started quick via nohup" in started.stdout, started.stderr
    final = job.parse_status(ctl(jobs["quick"], "wait", "20").stdout)
    assert final["ended"] and final["phase"] == "finished" and final["rc"] == 0
    assert final["last_line"].endswith("quick exited with code 0") and final["elapsed_s"] >= 1
    log = Path(final["log"]).read_text()
    assert "step one" in log and "all done" in log


def test_one_job_at_a_time_and_a_clean_stop(jobs):
    assert ctl(jobs["slow"], "start").returncode == 0
    again = ctl(jobs["slow"], "start")
    assert again.returncode == 3 and "is already running" in again.stdout
    bypass = ctl(jobs["slow"], "run")  # the lock itself refuses a second run
    assert bypass.returncode == 75 and "already running" in bypass.stderr
    now = status(jobs["slow"])
    assert now["running"] and now["phase"] == "running" and not now["ended"] and now["pid"] and now["child_pid"]
    stopped = ctl(jobs["slow"], "stop")
    assert "stopped slow" in stopped.stdout
    after = status(jobs["slow"])
    assert not after["running"] and after["phase"] == "stopped" and after["ended"]


def test_a_failing_command_reports_its_exit_code(jobs):
    ctl(jobs["fails"], "start")
    final = job.parse_status(ctl(jobs["fails"], "wait", "20").stdout)
    assert final["phase"] == "failed" and final["rc"] == 7 and final["ended"]
    assert "broken" in Path(final["log"]).read_text()


def test_a_hard_kill_reads_as_interrupted(jobs):
    ctl(jobs["killed"], "start")
    s = status(jobs["killed"])
    for pid in (s["pid"], s["child_pid"]):
        os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        s = status(jobs["killed"])
        if not s["running"]:
            break
        time.sleep(0.1)
    assert s["state"] == "interrupted (was running)" and s["phase"] == "interrupted" and s["ended"]


def test_module_polls_a_build_with_its_expected_time(jobs):
    res = run_module(job_status.main, {"ctl": str(jobs["quick"]), "wait": 1, "progress": {"kind": "build", "expected_s": 3600}})
    assert res["changed"] is False and res["status"]["ended"]
    assert res["line"].startswith("[quick finished] ") and "of about 1h00m expected for this host (0%)" in res["line"]


def test_module_reads_a_training_log(tmp_path, jobs):
    log = tmp_path / "training.log"
    log.write_text("20-Nov 09:00:00:INFO:root:000200 :: TRAIN obj-val = 2.0\n"
                   "20-Nov 09:00:10:INFO:root:000400 :: TRAIN obj-val = 1.9\n"
                   "20-Nov 09:00:11:INFO:root:  Accuracy (avg over 10000) = 40.0000%\n")
    snaps = tmp_path / "snapshots"
    snaps.mkdir()
    for n in (200, 400, 1000):
        (snaps / f"snapshot-{n:06d}.jld").write_text("x")
    res = run_module(job_status.main, {"ctl": str(jobs["quick"]), "progress": {"kind": "mocha", "log": str(log), "max_iter": 1000,
                      "snapshot_dir": str(snaps), "expires_at": "2999-01-01T00:00:00Z", "run_id": "r1"}})
    assert res["progress"]["iteration"] == 400 and res["progress"]["latest_snapshot"] == "snapshot-001000.jld"
    assert res["line"].startswith("[run r1 finished] iteration 400/1000 (40.0%), objective 1.9000, test accuracy 40.00% (at 400)")
    assert "20.00 it/s" in res["line"] and "instance expires in" in res["line"]


# --- job output that is not UTF-8 -----------------------------------------------------------------------------------
POLL = """
- hosts: localhost
  gather_facts: false
  tasks:
    - mocha.cloud.job_status:
        ctl: "{{ item }}"
      loop: "{{ ctls }}"
      register: polled
    - ansible.builtin.copy:
        content: "{{ polled.results | map(attribute='status') | list | to_json }}"
        dest: "{{ out }}"
        mode: "0644"
"""


def poll_through_ansible(tmp_path, *ctl_paths):
    """The module job_status as a play runs it, once per jobctl: its result goes through the controller's strict UTF-8
    check. The statuses, in order."""
    (tmp_path / "poll.yml").write_text(POLL)
    out = tmp_path / "polled.json"
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
                          str(tmp_path / "poll.yml"), "-e", json.dumps({"ctls": [str(p) for p in ctl_paths], "out": str(out),
                                                                        "ansible_python_interpreter": sys.executable})],
                         capture_output=True, text=True, cwd=REPO, check=False,
                         env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), MOCHA_CLOUD_SETTINGS="none"))
    assert run.returncode == 0, " ".join(run.stdout.split())[-2000:]
    return json.loads(out.read_text())


def keeper_and_probe_status(ctl_path):
    """What the state keeper and the cifar10 role's probe read of the same status (each on the host)."""
    sys.path[:0] = [str(REPO / "roles/cifar10/files"), str(REPO / "plugins/module_utils")]
    try:
        import state_keeper
    finally:
        del sys.path[:2]
    probe = subprocess.run([sys.executable, str(REPO / "roles/cifar10/files/probe.py"), "/no/julia", str(ctl_path.parent),
                            str(ctl_path), "/no/extracted"], capture_output=True, text=True, check=True)
    return state_keeper.job_status(str(ctl_path)), json.loads(probe.stdout)["job"]


def copy_job(rendered, directory, argv):
    """A copy of a rendered jobctl for another directory and command (the script names its directory, its log and its
    argv; nothing else differs between two jobs), without rendering it again."""
    directory.mkdir()
    text = rendered.read_text().replace(str(rendered.parent), str(directory))
    text = re.sub(r"(?m)^COMMAND=\(.*\)$", lambda _m: "COMMAND=(" + " ".join(shlex.quote(a) for a in argv) + " )", text)
    (directory / "jobctl").write_text(text)
    (directory / "jobctl").chmod(0o755)
    return directory / "jobctl"


def test_job_output_that_is_not_utf8_or_longer_than_300_characters(tmp_path, jobs):
    """A Latin-1 byte in the log's last line, and a line of 2-byte characters whose byte 300 falls inside one: the
    status is valid UTF-8, cut on characters, and the module (through the controller), the keeper and the probe read
    it. A status line that is not UTF-8 (a jobctl of an older release): they replace the bytes, never fail or read
    nothing."""
    write = "import sys, time; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]) + bytes([10])); sys.stdout.flush(); time.sleep(60)"
    lines = [b"TRAIN caf\xe9 iter=1", ("x" * 299 + "\u00e9" * 5).encode()]
    latin, wide = (copy_job(jobs["killed"], tmp_path / name, [sys.executable, "-c", write, line.hex()])
                   for name, line in zip(("latin", "wide"), lines, strict=True))
    old = tmp_path / "old" / "jobctl"
    old.parent.mkdir()
    old.write_bytes(b'#!/bin/sh\nprintf \'{"job": "old", "running": true, "state": "running since x", "last_line": "caf\\351 \\303"}\\n\'\n')
    old.chmod(0o755)
    try:
        for path in (latin, wide):
            assert ctl(path, "start").returncode == 0
        for _ in range(100):
            if all("jobctl" not in status(p)["last_line"] for p in (latin, wide)):
                break
            time.sleep(0.1)
        expected = ["TRAIN caf iter=1", "x" * 299 + "\u00e9", "caf\ufffd \ufffd"]
        assert [p["last_line"] for p in poll_through_ansible(tmp_path, latin, wide, old)] == expected
        for path, line in zip((latin, wide, old), expected, strict=True):
            if path is not old:
                raw = subprocess.run([str(path), "status"], capture_output=True, check=True).stdout
                assert json.loads(raw.decode("utf-8"))["last_line"] == line  # strict UTF-8, 300 characters at most
            kept, probed = keeper_and_probe_status(path)
            assert kept["running"] and kept["last_line"] == line and probed["last_line"] == line
    finally:
        for path in (latin, wide):
            ctl(path, "stop")
