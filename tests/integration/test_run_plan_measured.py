"""Measured figures replace the published ones in the run plan, through the playbooks' own task files.

A configure keeps what its long jobs took (playbooks/tasks/measured.yml, from mocha.cloud.common's common_job_times)
in artifacts/measured.json; the run plan (playbooks/tasks/run_plan.yml) reads it, with the training speed of earlier
runs' metrics.json, for the instance type it provisions, or, when the inventory already has the host (a second run
of the journey on the same EC2 instance), for that host's ec2_instance_type. Run with ansible-playbook on this
machine (local connection); no AWS is reached.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO

PLAY = """
- name: A configure that ran the Pkg phase's jobs
  hosts: gpu_hosts
  gather_facts: false
  tasks:
    - name: What job_wait publishes after the jobs
      ansible.builtin.set_fact:
        common_job_times: "{{ job_times }}"
    - name: Keep them
      ansible.builtin.include_tasks: "{{ repo }}/playbooks/tasks/measured.yml"

- name: The next journey's plan, on the host the inventory has
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Plan
      ansible.builtin.include_tasks: "{{ repo }}/playbooks/tasks/run_plan.yml"
    - name: Show it
      ansible.builtin.debug:
        msg: "PLAN {{ mocha_cloud_run_plan.phases | to_json }}"
"""


def run(tmp_path, artifacts, provision, job_times):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {
        "children": {"gpu_hosts": {"hosts": {"box": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                                     "ec2_instance_type": "g4dn.xlarge"}}}},
        "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    extra = {"repo": str(REPO), "cifar10_artifacts_dir": str(artifacts), "mocha_cloud_provision": provision,
             "aws_gpu_instance_type": "g4dn.xlarge", "cifar10_max_iter": 70000, "aws_gpu_instance_max_hours": 22,
             "mocha_cloud_measured_file": str(artifacts / "measured.json"), "job_times": job_times}
    out = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(inventory), str(play),
                          "-e", json.dumps(extra)], cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
                         env=dict(os.environ, ANSIBLE_CALLBACK_RESULT_FORMAT="json"))
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert not re.search(r"^\[(DEPRECATION )?WARNING\]", out.stdout + out.stderr, re.M), out.stderr
    msg = json.loads(re.search(r'^\s*"msg": ("PLAN .*")$', out.stdout, re.M).group(1))
    return {p["phase"]: p for p in json.loads(msg[len("PLAN "):])}


def test_a_second_journey_plans_with_what_the_first_measured(tmp_path):
    artifacts = tmp_path / "artifacts"
    run_dir = artifacts / "box" / "run1"
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps({
        "run_id": "run1", "host": "box", "instance_type": "g4dn.xlarge", "backend": "cpu", "iterations": 70000,
        "seconds_per_200_iterations": 140.0}))
    phases = run(tmp_path, artifacts, provision=False,
                 job_times={"mocha-pkg-init": 1200.5, "mocha-pkg-add-Mocha": 300, "mocha-pkg-test": 700, "cifar10": 9})
    kept = json.loads((artifacts / "measured.json").read_text())
    assert kept["g4dn.xlarge"]["mocha"]["seconds"] == 2200.5 and kept["g4dn.xlarge"]["mocha"]["host"] == "box"
    assert phases["mocha"]["seconds"] == 2201 and phases["mocha"]["source"].startswith("measured: box (g4dn.xlarge) on ")
    assert phases["train"]["source"] == "measured: run run1 on box (g4dn.xlarge), 70000 iterations"
    assert phases["train"]["seconds"] == int(70000 / 200 * 140.0 * 1.05 + 0.999)
    assert phases["hdf5"]["source"].startswith("allowance")


def test_nothing_measured_keeps_the_published_figures(tmp_path):
    phases = run(tmp_path, tmp_path / "artifacts", provision=True, job_times={})
    assert not (tmp_path / "artifacts" / "measured.json").exists()  # a configure that ran no long job writes nothing
    assert "METADATA.jl#5128" in phases["mocha"]["source"] and "Mocha's documentation" in phases["train"]["source"]
