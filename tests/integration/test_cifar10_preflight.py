"""The cifar10 role's preflight run by ansible-playbook: an environment key with a trailing newline is refused (its
check is anchored at the end of the text, never at '$'), an ordinary environment passes."""

import re

from conftest import run_role_tasks


def run_cifar10_preflight(tmp_path, environment):
    return run_role_tasks(tmp_path, "cifar10", ["preflight"], {"cifar10_environment": environment, "cifar10_dir": str(tmp_path / "c")})


def test_cifar10_environment_key_with_a_newline_is_refused(tmp_path):
    """environment.sh writes KEY=value lines that a shell sources: a key "x\\n" would run as a command."""
    _, flat = run_cifar10_preflight(tmp_path, {"MOCHA_USE_NATIVE_EXT": "true", "MOCHA_CUDA_DEVICE": "0"})
    assert re.search(r"cifar10 : Check the training settings [^\]]*\] \*+ ok: \[localhost\]", flat), flat[-3000:]
    rc, flat = run_cifar10_preflight(tmp_path, {"MOCHA_USE_NATIVE_EXT": "true", "x\n": "1"})
    assert rc != 0
    assert re.search(r"cifar10 : Check the training settings [^\]]*\] \*+ \[ERROR\]", flat), flat[-3000:]
    assert "cifar10_environment (default: the mocha role's fact mocha_environment) a mapping of variable names to values" in flat, flat[-3000:]
