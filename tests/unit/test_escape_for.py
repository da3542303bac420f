"""mocha.cloud.escape_for and the templates that use it, read back by the format's own reader where one runs here.

Julia cannot run here: the fake julia's parser (tests/fakes/julia/train.py) reads string literals with Julia's
rules (escapes, and an unescaped "$" refused as interpolation). GNU make and systemd-analyze are the real ones.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.filter import escape_for as escape_filter
from ansible_collections.mocha.cloud.plugins.module_utils import escape
from conftest import REPO

_spec = importlib.util.spec_from_file_location("fake_julia_train", REPO / "tests" / "fakes" / "julia" / "train.py")
fake_julia = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake_julia)

HOSTILE = [
    '/srv/x") ; run(`touch /tmp/pwned`) ; ("',
    "/srv/$(whoami)/$HOME/${PATH}",
    "/srv/back\\slash\\\\n",
    "/srv/100%n %% ünïcødé ☃",
    "/srv/line\nbreak\ttab",
    "/srv/#hash 'single' \"double\"",
]


# --- Julia ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", HOSTILE + ["/var/lib/mocha-cifar10/run", ""])
def test_julia_literal_reads_back_exactly(value):
    literal = escape.escape_for(value, "julia")
    assert literal.startswith('"') and literal.endswith('"')
    assert all(0x20 <= ord(c) < 0x7F for c in literal)  # one printable ASCII line
    assert fake_julia.julia_unescape(literal[1:-1]) == value


def test_julia_unescaped_interpolation_is_what_the_fake_refuses():
    """The fake reads literals as Julia does: a raw '$' interpolates, so it fails; the escaped form does not."""
    with pytest.raises(SystemExit):
        fake_julia.julia_unescape("/srv/$HOME")
    assert fake_julia.julia_unescape(escape.julia("/srv/$HOME")[1:-1]) == "/srv/$HOME"


# --- make ---------------------------------------------------------------------------------------------------

MAKE_VALUES = ["/opt/julia", "/opt/ju lia/$(shell touch {tmp}/pwned)/$$x", "/opt/#not a comment", "generic;sandybridge,-xsaveopt,clone_all",
               "x86-64-v3", "100%", "a'b\"c", "é"]


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make not installed")
def test_make_reads_back_exactly(tmp_path):
    lines, want = [], {}
    for i, value in enumerate(v.replace("{tmp}", str(tmp_path)) for v in MAKE_VALUES):
        lines.append(f"V{i}={escape.escape_for(value, 'make')}")
        want[f"V{i}"] = value
    (tmp_path / "Make.user").write_text("\n".join(lines) + "\n")
    shows = "".join(f"$(info V{i}=[$(V{i})])\n" for i in range(len(MAKE_VALUES)))
    (tmp_path / "Makefile").write_text("include Make.user\n" + shows + "all: ;\n")
    out = subprocess.run(["make", "-s", "-C", str(tmp_path)], capture_output=True, text=True, check=True).stdout
    got = dict(line.split("=", 1) for line in out.splitlines())
    assert got == {k: f"[{v}]" for k, v in want.items()}
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("value,why", [("/opt/x\nall: evil", "control characters"), ("/opt/x\\", "backslash"),
                                       (" /opt/x", "blanks"), ("/opt/x ", "blanks"), ("/opt\\#x", "backslash")])
def test_make_refuses_what_it_cannot_hold(value, why):
    with pytest.raises(escape.EscapeError, match=why):
        escape.make(value)


# --- systemd ------------------------------------------------------------------------------------------------

def test_systemd_values():
    assert escape.systemd("/var/lib/mocha-cifar10/run") == "/var/lib/mocha-cifar10/run"
    assert escape.systemd("/srv/100%n dir") == "/srv/100%%n dir"
    for value in ("/srv/a\nExecStartPre=/bin/evil", "/srv/a\\", " /srv/a", "/srv/a\r"):
        with pytest.raises(escape.EscapeError):
            escape.systemd(value)
    assert escape.systemd_exec("/var/lib/mocha-cifar10/run/jobctl") == "/var/lib/mocha-cifar10/run/jobctl"
    assert escape.systemd_exec('/srv/a b%n"q\\') == '"/srv/a b%%n\\"q\\\\"'
    for value in ("/srv/$HOME/ctl", "/srv/a\n/ctl"):
        with pytest.raises(escape.EscapeError):
            escape.systemd_exec(value)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_reads_the_command_path_back(tmp_path):
    """systemd-analyze verify resolves ExecStart's path: the escaped one is found, the naive one is not."""
    run_dir = tmp_path / 'run dir %n "q" #x'
    run_dir.mkdir()
    ctl = run_dir / "jobctl"
    ctl.write_text("#!/bin/sh\n")
    ctl.chmod(0o755)

    def verify(exec_word):
        unit = tmp_path / "t.service"
        unit.write_text(f"[Unit]\nDescription=t\n[Service]\nType=simple\nWorkingDirectory={escape.systemd(str(run_dir))}\n"
                        f"ExecStart={exec_word} run\n")
        out = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False)
        return out.stdout + out.stderr

    assert "is not executable" not in verify(escape.systemd_exec(str(ctl))), verify(escape.systemd_exec(str(ctl)))
    assert "is not executable" in verify(f'"{ctl}"')  # unescaped, %n is expanded: another path


# --- The filter ---------------------------------------------------------------------------------------------

def test_filter_wraps_errors_and_checks_the_format():
    f = escape_filter.FilterModule().filters()["escape_for"]
    assert f("/srv/$x", "make") == "/srv/$$x"
    assert f(64, "julia") == '"64"'
    with pytest.raises(AnsibleFilterError, match="format must be one of julia, systemd, systemd_exec, make"):
        f("x", "shell")
    with pytest.raises(AnsibleFilterError, match="control characters"):
        f("a\nb", "systemd")
    with pytest.raises(AnsibleFilterError, match="needs a string"):
        f(None, "make")


DOC_OPENINGS = {
    "escape_for": "Returns text that the target format reads back as exactly the value given",
    "aws_gpu_limits": "Checks the settings of the role aws_gpu_instance that bound what a run can cost or expose",
    "ssh_cidr": "Reads a CIDR or a single address (IPv4 or IPv6) as the network it means",
    "ec2_tag_vars": "Anyone who can tag an instance in the account can write its tags",
}


@pytest.mark.parametrize("name", list(DOC_OPENINGS))
def test_filter_documentation_renders(name):
    """ansible-doc renders each new filter's own description (from the YAML beside its plugin)."""
    doc = subprocess.run([str(Path(sys.executable).with_name("ansible-doc")), "-t", "filter", f"mocha.cloud.{name}"],
                         capture_output=True, text=True, cwd=REPO, env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
                         check=False)
    assert doc.returncode == 0, doc.stderr
    flat = " ".join(doc.stdout.split())
    assert f"FILTER mocha.cloud.{name}" in flat.replace("\x1b[1m", "").replace("\x1b[0m", "")
    assert DOC_OPENINGS[name] in flat, flat[:500]


# --- The templates ------------------------------------------------------------------------------------------

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', repo ~ '/roles/' ~ item.src) }}"
        dest: "{{ out }}/{{ item.dest }}"
        mode: "0644"
      loop:
        - {src: cifar10/templates/cifar10.jl.j2, dest: cifar10.jl}
        - {src: common/templates/job.service.j2, dest: cifar10.service}
        - {src: common/templates/jobctl.sh.j2, dest: jobctl}
        - {src: cifar10/templates/environment.sh.j2, dest: environment.sh}
        - {src: julia_build/templates/Make.user.j2, dest: Make.user}
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
        "__julia_build_dest": dest, "julia_build_march": march, "julia_build_cpu_target": "", "julia_build_use_binarybuilder": True,
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
