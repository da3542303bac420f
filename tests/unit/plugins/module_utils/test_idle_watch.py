"""The idle watch's rules (plugins/module_utils/idle_watch.py, shipped to the instance): armed instance id, jobs,
SSH sessions, the grace period, and the power-off command."""

import os

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import idle_watch

IID = "i-0123456789abcdef0"
CONFIG = idle_watch.check_config({"instance_id": IID, "idle_seconds": 900, "roots": ["/var/lib/mocha-cifar10"]})
T0 = 1_800_000_000.0


def seen(jobs=(), sessions=0, instance_id=IID):
    return {"instance_id": instance_id, "jobs": list(jobs), "sessions": sessions}


def test_config_defaults_and_refusals():
    assert CONFIG["interval"] == 30.0 and CONFIG["imds"] == "http://169.254.169.254"
    assert idle_watch.check_config({"instance_id": IID, "idle_seconds": 6, "roots": ["/x"]})["interval"] == 1.5
    for bad, what in [({"instance_id": "i-1"}, "instance_id"), ({"idle_seconds": 0}, "idle_seconds"),
                      ({"roots": ["relative"]}, "roots"), ({"imds": "file:///etc/passwd"}, "imds"),
                      ({"interval": 0}, "interval")]:
        with pytest.raises(idle_watch.WatchError, match=what):
            idle_watch.check_config(dict({"instance_id": IID, "idle_seconds": 900, "roots": ["/x"]}, **bad))


def test_powers_off_a_grace_period_after_the_last_job_ended():
    state = {"started_at": T0, "last_active": None}
    ended = [{"job": "run", "running": False, "ended_at": int(T0) + 100}, {"job": "keeper", "running": False, "ended_at": int(T0) + 130}]
    action, state, msg = idle_watch.decide(CONFIG, seen(ended), state, T0 + 130 + 899)
    assert action == "wait" and "powers off in 1 s" in msg
    action, state, msg = idle_watch.decide(CONFIG, seen(ended), state, T0 + 130 + 900)
    assert action == "poweroff" and "idle for 900 s" in msg


def test_a_running_training_postpones_it():
    state = {"started_at": T0, "last_active": None}
    running = [{"job": "run", "running": True, "ended_at": None}]
    action, state, msg = idle_watch.decide(CONFIG, seen(running), state, T0 + 5000)
    assert action == "wait" and "running: run" in msg and state["last_active"] == T0 + 5000
    # It ends without a recorded end time: the grace counts from the last round that saw it run.
    ended = [{"job": "run", "running": False, "ended_at": None}]
    assert idle_watch.decide(CONFIG, seen(ended), state, T0 + 5000 + 899)[0] == "wait"
    assert idle_watch.decide(CONFIG, seen(ended), state, T0 + 5000 + 900)[0] == "poweroff"


def test_an_ssh_session_in_use_postpones_it():
    state = {"started_at": T0, "last_active": None}
    action, state, msg = idle_watch.decide(CONFIG, seen(sessions=1), state, T0 + 2000)
    assert action == "wait" and "1 SSH session(s) in use" in msg
    assert idle_watch.decide(CONFIG, seen(), state, T0 + 2000 + 899)[0] == "wait"


def test_another_instance_disarms_and_no_answer_powers_nothing_off():
    state = {"started_at": T0, "last_active": None}
    action, _state, msg = idle_watch.decide(CONFIG, seen(instance_id="i-0fedcba9876543210"), state, T0 + 99999)
    assert action == "disarm" and "an image made from it" in msg
    action, _state, msg = idle_watch.decide(CONFIG, seen(instance_id=None), state, T0 + 99999)
    assert action == "wait" and "did not answer" in msg


def test_an_unreadable_job_counts_as_running():
    assert idle_watch.parse_status("") == {"running": True, "ended_at": None, "unreadable": True}
    assert idle_watch.parse_status("garbage\n[1]") == {"running": True, "ended_at": None, "unreadable": True}
    assert idle_watch.parse_status('{"running": false, "ended_at": 17}\n') == {"running": False, "ended_at": 17}
    assert idle_watch.parse_status('{"running": false, "ended_at": true}') == {"running": False, "ended_at": None}


def test_proc_stat_with_a_strange_command_name():
    assert idle_watch.parse_proc_stat("42 (sshd: alice) [priv]) S 1 42 42 34816 42 ...") == ("sshd: alice) [priv]", 1, 34816)
    assert idle_watch.parse_proc_stat("nonsense") is None


PTS0 = (136 << 8) | 0  # /dev/pts/0
PTS1 = (136 << 8) | 1


def test_ssh_sessions_are_terminals_under_sshd():
    procs = {
        1: ("systemd", 0, 0),
        500: ("sshd", 1, 0),
        600: ("sshd-session", 500, 0),     # OpenSSH 9.8+: one per session
        601: ("bash", 600, PTS0),          # an interactive session
        602: ("vim", 601, PTS0),           # the same terminal: one session
        700: ("python3", 600, 0),          # Ansible over SSH with pipelining: no terminal
        800: ("tmux: server", 1, PTS1),    # a terminal that does not come from sshd
        900: ("bash", 9999, PTS1),         # parent gone
    }
    assert idle_watch.ssh_sessions(procs) == 1
    assert idle_watch.ssh_sessions({k: v for k, v in procs.items() if k not in (601, 602)}) == 0
    loop = {10: ("bash", 11, PTS0), 11: ("bash", 10, 0)}
    assert idle_watch.ssh_sessions(loop) == 0


def test_read_procs_reads_this_machine():
    procs = idle_watch.read_procs()
    assert os.getpid() in procs and procs[os.getpid()][1] == os.getppid()


def test_find_jobctls_skips_its_own_directory(tmp_path):
    for rel in ("run/jobctl", "run/keeper/jobctl", "sweeps/s/v/jobctl", "autodown/jobctl", "data/jobctl"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755 if rel != "data/jobctl" else 0o644)
    found = idle_watch.find_jobctls([str(tmp_path)], str(tmp_path / "autodown"))
    assert [os.path.relpath(p, tmp_path) for p in found] == ["run/jobctl", "run/keeper/jobctl", "sweeps/s/v/jobctl"]


def test_poweroff_command_never_halts():
    assert idle_watch.poweroff_argv(True) == ["systemctl", "poweroff"]
    assert idle_watch.poweroff_argv(False, {"poweroff": "/sbin/poweroff"}.get) == ["/sbin/poweroff"]
    assert idle_watch.poweroff_argv(False, {"shutdown": "/sbin/shutdown", "halt": "/sbin/halt"}.get) == ["/sbin/shutdown", "-P", "now"]
    assert idle_watch.poweroff_argv(False, {"halt": "/sbin/halt"}.get) is None
