"""Roles keep to their rooms.

- No role reads another role's or the plugins' files by a relative path (``role_path ~ '/../..'``,
  ``playbook_dir ~ '/../roles'``): what a host needs is a file of the collection written by a module
  (mocha.cloud.helper_files), and the internal role common finds its caller with ``ansible_parent_role_paths``.
- A role's private variables (``__<role>_*``) are read and set inside roles/<role>/ only: playbooks, inventory,
  molecule scenarios, tests and other roles use its inputs and the facts it publishes (docs/architecture.md).
"""

import re

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
    uses = private_uses(role)
    assert uses == [], f"__{role}_* used outside roles/{role}/ (use its inputs or published facts):\n" + "\n".join(
        f"{p}:{n}: {v}" for p, n, v in uses)
