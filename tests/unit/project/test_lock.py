"""constraints.txt: the exact versions a fresh machine installs (scripts/lock writes it, scripts/setup uses it)."""

import subprocess
import sys
from importlib import metadata

from conftest import REPO, load_source
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

lock = load_source(REPO / "scripts" / "lock", "mocha_cloud_lock")


def test_the_lock_satisfies_every_declared_range():
    assert lock.lock_problems(REPO) == []


def test_the_check_finds_a_pin_outside_a_range_a_missing_pin_and_a_loose_line(tmp_path):
    for name in lock.REQUIREMENTS:
        (tmp_path / name).write_text((REPO / name).read_text())
    pins = (REPO / "constraints.txt").read_text()
    bad = "\n".join("boto3==1.0.0" if line.startswith("boto3==") else line for line in pins.splitlines() if not line.startswith("pytest=="))
    (tmp_path / "constraints.txt").write_text(bad + "\nsix>=1\n")
    problems = lock.lock_problems(tmp_path)
    assert any(p.startswith("requirements.txt: boto3") and p.endswith("is not met by 1.0.0 (Python 3.12)") for p in problems), problems
    assert any("pytest has 0 pins" in p for p in problems), problems
    assert "not an exact pin: six>=1" in problems, problems


def test_markers_give_each_interpreter_its_own_pin():
    lines = lock.merge({"3.11": {"ansible": "12.3.0", "six": "1.17.0"}, "3.12": {"ansible": "14.5.0", "six": "1.17.0"}})
    assert lines == ['ansible==12.3.0 ; python_version < "3.12"', 'ansible==14.5.0 ; python_version >= "3.12"', "six==1.17.0"]


def test_this_environment_has_what_the_lock_says():
    """scripts/setup installed with -c constraints.txt: every pinned package present here has the pinned version."""
    v = sys.version_info
    env = {"python_version": f"{v[0]}.{v[1]}", "python_full_version": f"{v[0]}.{v[1]}.{v[2]}"}
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    wrong = []
    for raw in (REPO / "constraints.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if req.marker and not req.marker.evaluate(env):
            continue
        have = installed.get(canonicalize_name(req.name))
        if have is not None and not req.specifier.contains(have, prereleases=True):
            wrong.append(f"{req.name}: {have} installed, lock says {req.specifier}")
    assert wrong == []


def test_setup_installs_with_the_lock():
    setup = (REPO / "scripts" / "setup").read_text()
    installs = [line for line in setup.splitlines() if "pip install" in line]
    assert len(installs) >= 2 and all("-c constraints.txt" in line for line in installs), installs


def test_only_the_named_warning_is_silenced():
    """The venv's filter drops cryptography's DSA notice from ansible-core's SSH agent module, and nothing else:
    the same message from another module, or another cryptography warning from that module, still shows."""
    code = """
import warnings
from cryptography.utils import CryptographyDeprecationWarning as C
warnings.warn_explicit("DSA is deprecated and support will be removed", C, "_ssh_agent.py", 18, module="ansible._internal._ssh._ssh_agent")
warnings.warn_explicit("DSA is deprecated and support will be removed", C, "other.py", 1, module="somewhere.else")
warnings.warn_explicit("TripleDES has been moved", C, "_ssh_agent.py", 19, module="ansible._internal._ssh._ssh_agent")
warnings.warn_explicit("DSA is deprecated and support will be removed", DeprecationWarning, "_ssh_agent.py", 20, module="ansible._internal._ssh._ssh_agent")
"""
    out = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, check=True)
    shown = [line for line in out.stderr.splitlines() if "Warning:" in line]
    assert len(shown) == 3, out.stderr
    assert not any("_ssh_agent.py:18" in line for line in shown), out.stderr


def test_ansible_starts_without_a_warning():
    out = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "--version"], capture_output=True, text=True, check=True)
    assert out.stderr == "", out.stderr
