"""The templates that place user values with mocha.cloud.escape_for (the cifar10 role's script, unit file and
environment, julia_build's Make.user), rendered by ansible-playbook and read back by each format's reader: the fake
julia's parser (tests/fakes/julia/train.py, Julia's string rules), GNU make, and the play's refusal where systemd
cannot hold a value.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, load_source

fake_julia = load_source(REPO / "tests" / "fakes" / "julia" / "train.py", "fake_julia_train")

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', repo ~ '/roles/' ~ item.src, template_vars=item.vars | default({})) }}"
        dest: "{{ out }}/{{ item.dest }}"
        mode: "0644"
      loop:
        - {src: cifar10/templates/cifar10.jl.j2, dest: cifar10.jl}
        - {src: common/templates/job.service.j2, dest: cifar10.service}
        - {src: common/templates/jobctl.sh.j2, dest: jobctl}
        - {src: cifar10/templates/environment.sh.j2, dest: environment.sh}
        # Make.user's install prefix is the template's own variable (julia_build's preflight gives it the same way).
        - {src: julia_build/templates/Make.user.j2, dest: Make.user, vars: {prefix: "{{ julia_prefix }}"}}
"""


def render(tmp_path, hdf5_dir, run_dir, dest, march="", environment=None):
    (tmp_path / "play.yml").write_text(PLAY)
    out = tmp_path / "out"
    out.mkdir()
    extra = {
        "repo": str(REPO), "out": str(out), "ansible_python_interpreter": sys.executable,
        "cifar10_hdf5_dir": hdf5_dir, "cifar10_run_dir": run_dir, "cifar10_batch_size": 100, "cifar10_backend": "cpu",
        "cifar10_lr_stages": [[60000, 0.001]], "cifar10_momentum": 0.9, "cifar10_weight_decay": 0.004,
        "cifar10_max_iter": 70000, "cifar10_summary_interval": 200,
        "cifar10_snapshot_interval": 5000, "cifar10_validation_interval": 1000, "cifar10_stop_timeout": 60,
        "cifar10_environment": environment or {"MOCHA_USE_NATIVE_EXT": "true"},
        "julia_prefix": dest, "julia_build_march": march, "julia_build_cpu_target": "", "julia_build_use_binarybuilder": True,
        "julia_build_make_user_extra": [],
        # The training's job under the one supervisor (roles/cifar10/tasks/run.yml gives the same dict).
        "common_job": {"name": "cifar10", "description": "Mocha.jl CIFAR-10 training", "dir": run_dir,
                        "log": run_dir + "/training.log", "argv": ["/usr/local/bin/julia", run_dir + "/cifar10.jl"],
                        "env_files": [run_dir + "/environment.sh"], "stop_timeout": 60, "restart_on_failure": True},
        "common_job_supervisor_selected": "systemd", "common_job_unit": "mocha-cifar10.service",
    }
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
                          str(tmp_path / "play.yml"), "-e", json.dumps(extra)], capture_output=True, text=True, cwd=REPO,
                         env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1"), check=False)
    return run, out


def test_templates_unchanged_for_ordinary_paths(tmp_path):
    run, out = render(tmp_path, "/var/lib/mocha-cifar10/data/hdf5", "/var/lib/mocha-cifar10/run", "/opt/julia-0.6.4")
    assert run.returncode == 0, run.stdout[-3000:]
    jl = (out / "cifar10.jl").read_text()
    assert 'source="/var/lib/mocha-cifar10/data/hdf5/train.txt", batch_size=100, shuffle=true)' in jl
    assert 'load_from="/var/lib/mocha-cifar10/run/snapshots")' in jl
    assert "regu_coef=0.004, mom_policy=MomPolicy.Fixed(0.9), lr_policy=lr_policy," in jl  # Mocha's example, as before
    assert 'Snapshot("/var/lib/mocha-cifar10/run/snapshots"), every_n_iter=5000)' in jl
    unit = (out / "cifar10.service").read_text()
    for line in ("Description=Mocha.jl CIFAR-10 training (mocha-cloud)", "WorkingDirectory=/var/lib/mocha-cifar10/run",
                 "ExecStart=/var/lib/mocha-cifar10/run/jobctl run", "Restart=on-failure",
                 "StandardOutput=append:/var/lib/mocha-cifar10/run/jobctl.out"):
        assert line + "\n" in unit, unit
    assert unit.startswith("#") and "{#" not in unit and "escape_for" not in unit  # the template comment is not rendered
    make_user = (out / "Make.user").read_text().splitlines()
    assert make_user[1:] == ["prefix=/opt/julia-0.6.4", "USE_BINARYBUILDER=1"], make_user


def test_templates_hold_hostile_paths_as_data(tmp_path):
    hdf5_dir = '/srv/h5 "x") ; run(`touch /tmp/pwned`) ; ("$HOME'
    run_dir = '/srv/run %n "q" #x é'
    dest = "/opt/ju lia#1/$(shell id)"
    run, out = render(tmp_path, hdf5_dir, run_dir, dest, march="x86-64#v3")
    assert run.returncode == 0, run.stdout[-3000:]
    cfg = fake_julia.parse_script((out / "cifar10.jl").read_text())
    assert (cfg["train_source"], cfg["test_source"]) == (hdf5_dir + "/train.txt", hdf5_dir + "/test.txt")
    assert cfg["snapshot_dir"] == cfg["load_from"] == run_dir + "/snapshots"
    assert cfg["max_iter"] == 70000 and cfg["snapshot_every"] == 5000
    # jobctl holds the run directory and the command as shell words: bash reads them back exactly.
    jobctl = out / "jobctl"
    assert subprocess.run(["bash", "-n", str(jobctl)], check=False).returncode == 0
    words = subprocess.run(["bash", "-c", f'eval "$(grep -E "^(DIR|COMMAND)=" {jobctl})"; printf "%s\\n" "$DIR" "${{COMMAND[@]}}"'],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert words == [run_dir, "/usr/local/bin/julia", run_dir + "/cifar10.jl"]
    if shutil.which("make"):
        (out / "Makefile").write_text("include Make.user\n$(info [$(prefix)][$(MARCH)])\nall: ;\n")
        shown = subprocess.run(["make", "-s", "-C", str(out)], capture_output=True, text=True, check=True).stdout
        assert shown == f"[{dest}][x86-64#v3]\n"


@pytest.mark.parametrize("bad", ["/srv/run\nExecStartPre=/bin/evil", "/srv/$HOME/run"])
def test_unit_file_refuses_what_systemd_cannot_hold(tmp_path, bad):
    run, _ = render(tmp_path, "/srv/h5", bad, "/opt/julia")
    assert run.returncode != 0
    assert "escape_for: " in run.stdout and "cannot be written" in run.stdout, run.stdout[-3000:]
