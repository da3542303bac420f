"""Roles keep to their rooms.

- No role reads another role's or the plugins' files by a relative path (``role_path ~ '/../..'``,
  ``playbook_dir ~ '/../roles'``): what a host needs is a file of the collection written by a module
  (mocha.cloud.helper_files), and the internal role common finds its caller with ``ansible_parent_role_paths``.

A role's private variables stay in the role too: tests/unit/project/test_private_vars.py holds that rule.
"""

import re

from conftest import REPO

# A path that climbs out of the directory it starts from, written in YAML, Jinja or Python.
CLIMB = re.compile(r"""(?:role_path|playbook_dir|ansible_parent_role_paths[^~]*)\s*~\s*['"]/\.\./|/\.\./\.\./plugins|/\.\./roles/""")
TEXT = (".yml", ".yaml", ".j2", ".py", ".sh")


def files(*roots, suffixes=TEXT):
    for root in roots:
        path = REPO / root
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix in suffixes and ".venv" not in p.parts)


def test_no_role_reads_across_rooms_by_path():
    found = [f"{p.relative_to(REPO)}:{n}: {line.strip()}" for p in files("roles", "playbooks")
             for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if CLIMB.search(line)]
    assert found == [], "a role or playbook reads another room's files by a relative path:\n" + "\n".join(found)


def test_the_rule_finds_a_climb(tmp_path):
    """The pattern above catches the forms the roles and playbooks used to write."""
    for line in ("content: \"{{ lookup('ansible.builtin.file', role_path ~ '/../../plugins/module_utils/x.py') }}\"",
                 'PYTHONPATH: "{{ role_path }}/../../plugins/module_utils"',
                 "{{ query('ansible.builtin.file', playbook_dir ~ '/../roles/' ~ r) }}"):
        assert CLIMB.search(line), line


def test_common_finds_its_caller_through_ansible():
    """The internal role loads its caller's vars/ from ansible_parent_role_paths, never from a sibling it guesses."""
    text = (REPO / "roles/common/tasks/os_vars.yml").read_text()
    assert "ansible_parent_role_paths" in text and "role_path | dirname" not in text
