"""Inputs stay inputs: no role sets a variable of its own interface.

Extra vars outrank set_fact, so a role that overwrites one of its inputs (for example the backend decision written
back into mocha_backend) silently keeps the user's value when it was given with -e. Derived values get their own
names (mocha_backend_selected). The same holds for registered results and for the role's private vars/ files, which
would outrank the public default in the inventory.
"""

import pytest
import yaml
from conftest import REPO

ROLES = sorted(p for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir())
SET_FACT = {"set_fact", "ansible.builtin.set_fact", "ansible.legacy.set_fact"}


def role_inputs(role):
    names = set()
    defaults = role / "defaults" / "main.yml"
    if defaults.is_file():
        names |= set((yaml.safe_load(defaults.read_text()) or {}).keys())
    specs = role / "meta" / "argument_specs.yml"
    if specs.is_file():
        for entry in (yaml.safe_load(specs.read_text()) or {}).get("argument_specs", {}).values():
            names |= set((entry or {}).get("options", {}).keys())
    return names


def tasks_of(node):
    """Every task in a task list, blocks (block/rescue/always) included."""
    for task in node or []:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ("block", "rescue", "always"):
            yield from tasks_of(task.get(key))


def written_names(role):
    """(file, task name, variable) for every set_fact key and register name in the role's task files."""
    for path in sorted((role / "tasks").rglob("*.yml")):
        for task in tasks_of(yaml.safe_load(path.read_text())):
            label = f"{path.relative_to(role.parent.parent)}: {task.get('name', '?')}"
            for key in SET_FACT & task.keys():
                for name in (task[key] or {}):
                    if name != "cacheable":
                        yield label, name
            if "register" in task:
                yield label, task["register"]


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_no_task_writes_an_input_of_its_role(role):
    inputs = role_inputs(role)
    assert inputs, f"{role.name} has no inputs in defaults/main.yml or meta/argument_specs.yml"
    offenders = [f"{label} sets {name}" for label, name in written_names(role) if name in inputs]
    assert offenders == [], "a role must not overwrite its own inputs:\n" + "\n".join(offenders)


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_private_vars_do_not_shadow_inputs(role):
    inputs = role_inputs(role)
    offenders = []
    for path in sorted((role / "vars").glob("*.yml")) if (role / "vars").is_dir() else []:
        offenders += [f"{path.relative_to(REPO)}: {k}" for k in (yaml.safe_load(path.read_text()) or {}) if k in inputs]
    assert offenders == [], "vars/ files outrank the inventory; they must not define public variables:\n" + "\n".join(offenders)


def test_the_check_sees_a_role_that_overwrites_its_input(tmp_path):
    role = tmp_path / "demo"
    (role / "tasks").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "defaults" / "main.yml").write_text("demo_backend: auto\n")
    (role / "tasks" / "main.yml").write_text(
        "- name: Outer\n  block:\n    - name: Decide\n      ansible.builtin.set_fact:\n        demo_backend: cpu\n")
    assert [n for _, n in written_names(role) if n in role_inputs(role)] == ["demo_backend"]


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_private_vars_use_the_double_underscore_prefix(role):
    """OS data in vars/ is private: every name starts with __<role>_."""
    offenders = []
    for path in sorted((role / "vars").glob("*.yml")) if (role / "vars").is_dir() else []:
        offenders += [f"{path.relative_to(REPO)}: {k}" for k in (yaml.safe_load(path.read_text()) or {})
                      if not k.startswith(f"__{role.name}_")]
    assert offenders == [], offenders
