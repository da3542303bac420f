"""Autodown: the instance's idle watch (roles/cifar10/files/autodown.py with plugins/module_utils/idle_watch.py beside
it) run for real beside a training under the real jobctl, the cifar10 role arming it (or not), and the controller's
autodown play on a static inventory.

Stand-ins: the FAKE IMDS (tests/fakes/imds.py) answers the instance id; a FAKE poweroff first in PATH records that the
machine would power off (the machine here is the test's own); the training is `sleep` under the real jobctl (rendered
as the common role renders it). A controller that tries EC2 would meet a dead endpoint (moto_server.sealed_env's
closed proxy). The pipelines show the rest against moto and a container: tests/pipeline/run_pipeline.py (the controller
terminates; the container stops) and tests/pipeline/run_interruption.py (an instance that ends itself, terminated by
the FAKE EC2 host as EC2 does).
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, load_source
from moto_server import sealed_env
from test_jobctl import ctl, render

imds = load_source(REPO / "tests" / "fakes" / "imds.py", "fake_imds_autodown")
IID = "i-0123456789abcdef0"


@pytest.fixture
def metadata():
    server, state = imds.serve(instance_id=IID)
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()


def watch_dir(tmp_path, imds_url, idle_seconds, roots):
    """The watch as the role installs it: autodown.py and idle_watch.py side by side, config.json, a FAKE poweroff."""
    d = tmp_path / "autodown"
    d.mkdir()
    shutil.copy(REPO / "roles" / "cifar10" / "files" / "autodown.py", d / "autodown.py")
    shutil.copy(REPO / "plugins" / "module_utils" / "idle_watch.py", d / "idle_watch.py")
    (d / "config.json").write_text(json.dumps({"instance_id": IID, "idle_seconds": idle_seconds, "interval": 0.2,
                                               "roots": [str(r) for r in roots], "own_dir": str(d), "imds": imds_url}))
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    (fakebin / "poweroff").write_text(f"#!/bin/sh\n# FAKE poweroff: records the time it was asked\ndate +%s.%N >> {tmp_path}/powered-off\n")
    (fakebin / "poweroff").chmod(0o755)
    return d, dict(os.environ, PATH=f"{fakebin}:{os.environ['PATH']}")


def start_watch(d, env):
    log = open(d / "watch.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, str(d / "autodown.py"), "watch", "--config", str(d / "config.json")],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    return proc, log


def powered_off(tmp_path):
    path = tmp_path / "powered-off"
    return [float(x) for x in path.read_text().split()] if path.exists() else []


def test_the_grace_period_waits_for_a_running_training(tmp_path, metadata):
    """While a training runs nothing happens, however long; once it ends the machine powers off after the grace
    period, not before."""
    url, _state = metadata
    runs = tmp_path / "cifar10"
    runs.mkdir()
    training = render(runs, "run", ["sleep", "5"])
    assert ctl(training, "start").returncode == 0
    d, env = watch_dir(tmp_path, url, idle_seconds=2, roots=[runs])
    proc, log = start_watch(d, env)
    try:
        time.sleep(3.5)  # longer than the grace, the training still running
        assert powered_off(tmp_path) == [], (d / "watch.log").read_text()
        done = json.loads(ctl(training, "wait", "30").stdout)
        assert not done["running"] and done["ended_at"]
        deadline = time.monotonic() + 30
        while not powered_off(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.2)
        when = powered_off(tmp_path)
        text = (d / "watch.log").read_text()
        assert len(when) == 1, text
        # Not before the grace after the training's end (jobctl records whole seconds), and not much after it.
        assert done["ended_at"] + 2 - 1 <= when[0] <= done["ended_at"] + 2 + 10, (when, done["ended_at"], text)
        assert "busy (running: run)" in text and "powering off" in text and f"armed for instance {IID}" in text
    finally:
        proc.kill()
        proc.wait()
        log.close()
        ctl(training, "stop")


def test_another_instance_disarms_and_no_metadata_powers_nothing_off(tmp_path, metadata):
    """An image made from the instance boots as another instance: the watch removes its config and exits. Where the
    metadata service does not answer (not an EC2 instance at all), it never powers off."""
    url, state = metadata
    runs = tmp_path / "cifar10"
    runs.mkdir()
    d, env = watch_dir(tmp_path, url, idle_seconds=1, roots=[runs])
    with state.lock:
        state.instance_id = "i-0fedcba9876543210"
    proc, log = start_watch(d, env)
    assert proc.wait(timeout=30) == 0
    log.close()
    assert not (d / "config.json").exists() and powered_off(tmp_path) == []
    assert "not i-0123456789abcdef0 that the watch was armed for" in (d / "watch.log").read_text()

    (d / "config.json").write_text(json.dumps({"instance_id": IID, "idle_seconds": 1, "interval": 0.2, "roots": [str(runs)],
                                               "imds": "http://127.0.0.1:9"}))
    proc, log = start_watch(d, env)
    try:
        time.sleep(3)
        assert proc.poll() is None and powered_off(tmp_path) == []
        assert "the metadata service did not answer" in (d / "watch.log").read_text()
    finally:
        proc.kill()
        proc.wait()
        log.close()


STATIC = """
all:
  children:
    gpu_hosts:
      hosts:
        gpu-box-1:
          ansible_connection: local
          ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""


def run_arming(tmp_path, inventory, extra):
    """The cifar10 role's preflight (its probe reads the training's jobctl) and then its tasks/autodown.yml, on this
    machine as the inventory's one host (a local connection)."""
    (tmp_path / "inventory.yml").write_text(inventory)
    book = tmp_path / "arm.yml"
    book.write_text(f"""
- hosts: gpu_hosts
  gather_facts: true
  tasks:
    - ansible.builtin.include_role:
        name: {REPO}/roles/cifar10
        tasks_from: "{{{{ item }}}}"
      loop: [preflight.yml, autodown.yml]
""")
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(tmp_path / "inventory.yml"),
                          str(book), "-e", json.dumps(extra)], capture_output=True, text=True, cwd=REPO, check=False,
                         env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                                  MOCHA_CLOUD_SETTINGS="none"), timeout=300)
    return run.returncode, " ".join((run.stdout + run.stderr).split())


# The same machine as an instance of the project's EC2 inventory: the group and the ec2_ values that inventory gives.
EC2 = STATIC.replace("gpu_hosts:\n      hosts:\n        gpu-box-1:", "gpu_hosts:\n      hosts:\n        gpu-box-1:") + """
    mocha_cloud_ec2:
      hosts:
        gpu-box-1:
          ec2_instance_id: i-0123456789abcdef0
          ec2_tags: {"mocha-cloud:project": mocha-cloud, "mocha-cloud:run-id": r1}
"""


def test_a_host_of_a_static_inventory_is_never_armed(tmp_path):
    """The cifar10 role's arming on this machine as an on-prem GPU host, with the shortest grace and a training
    going: nothing is written, nothing watches. The same tasks on a host of the project's EC2 inventory arm the watch,
    so the check can fail; kept (aws_gpu_instance_keep), the watch is disarmed again."""
    base = tmp_path / "cifar10"
    base.mkdir()
    # The training going: `sleep` under the real jobctl in the run directory, where the role's probe reads it.
    training = render(base, "run", ["sleep", "120"])
    assert ctl(training, "start").returncode == 0
    extra = {"cifar10_dir": str(base), "cifar10_run_dir": str(base / "run"), "cifar10_supervisor": "nohup",
             "cifar10_autodown": {"keep": False, "idle_minutes": 0.05, "project": "mocha-cloud"},
             "cifar10_julia": shutil.which("true"), "cifar10_environment": {}, "cifar10_env_file": "",
             "cifar10_imds_endpoint": "http://127.0.0.1:9"}
    try:
        rc, out = run_arming(tmp_path, STATIC, extra)
        assert rc == 0, out[-3000:]
        assert not (base / "autodown").exists(), out[-2000:]

        rc, out = run_arming(tmp_path, EC2, extra)
        assert rc == 0, out[-3000:]
        config = json.loads((base / "autodown" / "config.json").read_text())
        assert config["instance_id"] == IID and config["idle_seconds"] == 3.0 and config["roots"] == [str(base)]
        watching = json.loads(ctl(base / "autodown" / "jobctl", "status").stdout)
        assert watching["running"] and watching["supervisor"] == "nohup", watching

        rc, out = run_arming(tmp_path, EC2, dict(extra, cifar10_autodown=dict(extra["cifar10_autodown"], keep=True)))
        assert rc == 0, out[-3000:]
        assert "kept (aws_gpu_instance_keep)" in out and not (base / "autodown" / "config.json").exists()
        assert not json.loads(ctl(base / "autodown" / "jobctl", "status").stdout)["running"]
    finally:
        if (base / "autodown" / "jobctl").exists():
            ctl(base / "autodown" / "jobctl", "stop")
        ctl(training, "stop")


def test_the_controller_never_ends_a_host_of_a_static_inventory(tmp_path):
    """The train phase's autodown play with a static host whose run is over and home: it is skipped, and no EC2 call
    is made (the environment reaches no AWS; a terminate would fail the play)."""
    (tmp_path / "onprem.yml").write_text(STATIC)
    summary = {"run_id": "r1", "state": "finished at x", "ended": True, "running": False, "results_home": True,
               "results_home_at": time.time(), "keeper_running": False}
    book = tmp_path / "play.yml"
    book.write_text(f"""
- hosts: gpu_hosts
  gather_facts: false
  tasks:
    - ansible.builtin.set_fact:
        cifar10_run_summary: {json.dumps(summary)}
- ansible.builtin.import_playbook: {REPO}/playbooks/autodown.yml
""")
    env = dict(sealed_env(tmp_path), MOCHA_CLOUD_SETTINGS="none")
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(tmp_path / "onprem.yml"),
                          str(book), "-e", json.dumps({"aws_gpu_instance_autodown": {"keep": False, "idle_minutes": 0.05,
                                                                                    "project": "mocha-cloud"}})],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    out = " ".join(run.stdout.split())
    assert run.returncode == 0, out[-3000:]
    assert "gpu-box-1: not a host of the project" in out and "(a static inventory: on-prem, localhost): never shut down" in out, out[-3000:]
    assert "Terminate the instances whose run is over and home" in out and "skipping" in out.split("Terminate the instances")[1][:200]
