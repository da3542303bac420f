"""Validation patterns end at the end of the text (\\Z or fullmatch), never at '$', which also matches before a
trailing newline: a value "x\\n" must not pass a check meant for "x"."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.mocha.cloud.plugins.filter import julia_versions
from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu, aws_guard, julia_pkg
from conftest import REPO

# A match/regex/search test or select() whose pattern ends in '$'.
DOLLAR_ANCHORED = re.compile(r"""(?:\bmatch|\bregex|\bsearch)['"]?\s*[(,]\s*['"][^'"\n]*\$['"]""")


def yaml_files():
    for pattern in ("roles/*/tasks/*.yml", "roles/*/defaults/*.yml", "roles/*/meta/argument_specs.yml", "playbooks/*.yml",
                    "inventory/*.yml", "site.yml"):
        yield from sorted(REPO.glob(pattern))


def test_no_dollar_anchored_validation_in_yaml():
    found = []
    for path in yaml_files():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if DOLLAR_ANCHORED.search(line):
                found.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
        text = path.read_text()
        for name in ("mocha_upstream_url_regex",):
            m = re.search(rf"^{name}: '(.*)'$", text, re.M)
            if m and m.group(1).endswith("$"):
                found.append(f"{path.relative_to(REPO)}: {name} ends in $")
    assert not found, "\n".join(found)


def test_the_scan_finds_what_it_looks_for():
    assert DOLLAR_ANCHORED.search("x is match('^[a-z]+$')")
    assert DOLLAR_ANCHORED.search("keys() | select('match', '^[A-Z]$') | list")
    assert not DOLLAR_ANCHORED.search("x is match('\\\\A[a-z]+\\\\Z')")


@pytest.mark.parametrize("check,value", [
    (julia_pkg.validate_name, "Mocha\n"), (julia_pkg.normalize_version, "0.3.1\n"), (julia_pkg.validate_rev, "master\n"),
    (julia_pkg.validate_url, "https://github.com/pluskid/Mocha.jl.git\n"),
])
def test_python_validators_refuse_a_trailing_newline(check, value):
    check(value.rstrip("\n"))
    with pytest.raises(julia_pkg.JuliaPkgError):
        check(value)


def test_other_python_patterns_refuse_a_trailing_newline():
    assert julia_versions.TAG_RE.match("v0.6.4") and not julia_versions.TAG_RE.match("v0.6.4\n")
    assert julia_versions.REQUEST_RE.match("0.6") and not julia_versions.REQUEST_RE.match("0.6\n")
    assert aws_gpu._TYPE_RE.match("g4dn.xlarge") and not aws_gpu._TYPE_RE.match("g4dn.xlarge\n")
    assert aws_guard.fullmatch(aws_guard.NAME_RE, "exp1") and not aws_guard.fullmatch(aws_guard.NAME_RE, "exp1\n")


PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: {root}/roles/cifar10
        tasks_from: preflight
"""


def run_cifar10_preflight(tmp_path, environment):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(root=REPO))
    extra = {"cifar10_environment": environment, "cifar10_dir": str(tmp_path / "c"), "ansible_python_interpreter": sys.executable}
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", str(play),
                          "-e", json.dumps(extra)], capture_output=True, text=True, cwd=REPO, check=False,
                         env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1"))
    return run.returncode, " ".join(run.stdout.split())


def test_cifar10_environment_key_with_a_newline_is_refused(tmp_path):
    """environment.sh writes KEY=value lines that a shell sources: a key "x\\n" would run as a command."""
    _, flat = run_cifar10_preflight(tmp_path, {"MOCHA_USE_NATIVE_EXT": "true", "MOCHA_CUDA_DEVICE": "0"})
    assert re.search(r"cifar10 : Check the training settings [^\]]*\] \*+ ok: \[localhost\]", flat), flat[-3000:]
    rc, flat = run_cifar10_preflight(tmp_path, {"MOCHA_USE_NATIVE_EXT": "true", "x\n": "1"})
    assert rc != 0
    assert re.search(r"cifar10 : Check the training settings [^\]]*\] \*+ \[ERROR\]", flat), flat[-3000:]
    assert "cifar10_environment (default: the mocha role's fact mocha_environment) a mapping of variable names to values" in flat, flat[-3000:]
