"""Roles keep to their rooms.

- No role reads another role's or the plugins' files by a relative path (``role_path ~ '/../..'``,
  ``playbook_dir ~ '/../roles'``): what a host needs is a file of the collection written by a module
  (mocha.cloud.helper_files), and the internal role common finds its caller with ``ansible_parent_role_paths``.
- A role's private variables (``__<role>_*``) are read and set inside roles/<role>/ only: playbooks, inventory,
  molecule scenarios, tests and other roles use its inputs and the facts it publishes (docs/architecture.md).
"""

import re
import sys

import pytest
from conftest import REPO

# A path that climbs out of the directory it starts from, written in YAML, Jinja or Python.
CLIMB = re.compile(r"""(?:role_path|playbook_dir|ansible_parent_role_paths[^~]*)\s*~\s*['"]/\.\./|/\.\./\.\./plugins|/\.\./roles/""")
TEXT = (".yml", ".yaml", ".j2", ".py", ".sh")
# The roles this test holds to their rooms (aws_gpu_instance has its own rule beside the playbooks).
ROLES = ("cifar10", "mocha", "julia_build", "cuda", "hdf5", "common")
# Where another role's private name may appear: nowhere but its own directory. Names of the project-wide prefix
# (mocha_cloud_*) are not the mocha role's.
OTHER_ROOTS = ("roles", "playbooks", "inventory", "molecule", "tests", "plugins", "site.yml", "benchmarks", "scripts")
# The uses left, each with its reason; an entry no longer used fails (the list only shrinks).
ALLOWED = {
    # The role's data tables (vars/known_bad.yml, checksums.yml, srccache.yml), read as data by the tests of the rules
    # that take them; nothing drives the role with them.
    "tests/unit/roles/test_julia_build.py": {"__julia_build_binary_checksums"},
    "tests/unit/plugins/module_utils/test_julia_versions.py": {"__julia_build_known_bad"},
    "tests/unit/plugins/module_utils/test_julia_build_method.py": {
        "__julia_build_binary_checksums", "__julia_build_known_bad", "__julia_build_srccache_table"},
    # Still driven through private variables (to be moved onto the roles' inputs): results.yml alone against a keeper
    # in its last round (the play must reach the fetch within the keeper's seconds); the arming decision of
    # autodown.yml without a training; the environment templates of mocha and julia_build rendered alone; the check
    # mode answers of cuda's repository step.
    "tests/integration/test_cifar10_results_fetch.py": {"__cifar10_run_id", "__cifar10_last_poll"},
    "tests/integration/test_autodown.py": {"__cifar10_start", "__cifar10_host"},
    "tests/integration/test_mocha_env_templates.py": {
        "__mocha_backend_env", "__mocha_env_common", "__mocha_gpu_present", "__mocha_nvcc_path", "__mocha_stack_supported"},
    "tests/integration/test_escape_templates.py": {"__julia_build_dest"},
    "molecule/cuda/check_install.yml": {"__cuda_keyring_would_download", "__cuda_apt_source"},
}


def files(*roots, suffixes=TEXT):
    for root in roots:
        path = REPO / root
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix in suffixes and ".venv" not in p.parts)


def test_no_role_reads_across_rooms_by_path():
    found = [f"{p.relative_to(REPO)}:{n}: {line.strip()}" for p in files("roles")
             for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if CLIMB.search(line)]
    assert found == [], "a role reads another room's files by a relative path:\n" + "\n".join(found)


def test_the_rule_finds_a_climb(tmp_path):
    """The pattern above catches the forms the roles used to write."""
    for line in ("content: \"{{ lookup('ansible.builtin.file', role_path ~ '/../../plugins/module_utils/x.py') }}\"",
                 'PYTHONPATH: "{{ role_path }}/../../plugins/module_utils"',
                 "{{ query('ansible.builtin.file', playbook_dir ~ '/../roles/' ~ r) }}"):
        assert CLIMB.search(line), line


def test_common_finds_its_caller_through_ansible():
    """The internal role loads its caller's vars/ from ansible_parent_role_paths, never from a sibling it guesses."""
    text = (REPO / "roles/common/tasks/os_vars.yml").read_text()
    assert "ansible_parent_role_paths" in text and "role_path | dirname" not in text


def private_uses(role):
    """(path, line number, name) of every __<role>_* name outside roles/<role>/."""
    name = re.compile(rf"\b__{role}_(?!cloud_)[A-Za-z0-9_]+" if role == "mocha" else rf"\b__{role}_[A-Za-z0-9_]+")
    own = REPO / "roles" / role
    out = []
    for p in files(*OTHER_ROOTS, suffixes=TEXT + (".md", ".cfg", ".ini")):
        if own in p.parents or p == REPO / "tests/unit/project/test_rooms.py":
            continue
        for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
            out.extend((str(p.relative_to(REPO)), n, m.group(0)) for m in name.finditer(line))
    return out


@pytest.mark.parametrize("role", ROLES)
def test_private_variables_stay_in_their_role(role):
    uses = [(p, n, v) for p, n, v in private_uses(role) if v not in ALLOWED.get(p, ())]
    assert uses == [], f"__{role}_* used outside roles/{role}/ (use its inputs or published facts):\n" + "\n".join(
        f"{p}:{n}: {v}" for p, n, v in uses)


def test_the_allowed_uses_are_still_there():
    """An allowance nobody needs any more goes (the list only shrinks)."""
    used = {(p, v) for role in ROLES for p, _n, v in private_uses(role)}
    stale = sorted((p, v) for p, names in ALLOWED.items() for v in names if (p, v) not in used)
    assert stale == [], f"remove these from ALLOWED: {stale}"


def test_the_rule_finds_a_private_use(tmp_path, monkeypatch):
    """A molecule scenario that reads a role's private variable is found (and mocha_cloud_* is not mocha's)."""
    (tmp_path / "molecule").mkdir()
    (tmp_path / "molecule" / "verify.yml").write_text("that: [__hdf5_pkg_mgr == 'apt', __mocha_cloud_run_hosts | length]\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert private_uses("hdf5") == [("molecule/verify.yml", 1, "__hdf5_pkg_mgr")]
    assert private_uses("mocha") == []
