"""Defaults are owned by their role: a playbook reads the role's value, never a copy of it.

A play that needs a role's setting imports the role's entry point settings (``import_role: tasks_from: settings.yml``;
an imported role's defaults reach the whole play), includes it with ``public: true``, or reads the role's defaults
with the lookup mocha.cloud.role_options (source=defaults). ``aws_gpu_instance_project | default('mocha-cloud')`` in a
playbook is a second copy of the role's default: it drifts when the role's changes.

The copies still left are listed in ALLOWED with their count today; the list may only shrink. The EC2 inventory's
are the exception that stays: the inventory is read before any play and sees no role's defaults (a lookup there would
parse the role's defaults file at every task on every host), so its copies are held equal to the role's instead.
"""

import re

import yaml
from conftest import REPO

ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "defaults" / "main.yml").is_file())
SCANNED = ("playbooks", "inventory", "site.yml")
# `<role variable> | default(<literal>...)`: the literal is what yaml reads of the first argument.
COPY = re.compile(r"\b((?:" + "|".join(ROLES) + r")_[a-z0-9_]+)\s*\|\s*default\(\s*('[^']*'|\"[^\"]*\"|[^,()]+)")
# A templated default's rule, recognised by what only it reads: cifar10_artifacts_dir (artifacts/ beside ansible.cfg).
RULES = {"cifar10_artifacts_dir": "ansible_config_file"}
INVENTORY = "inventory/group_vars/mocha_cloud_ec2.yml"
INVENTORY_COPIES = {"aws_gpu_instance_project", "aws_gpu_instance_private_key_dir", "aws_gpu_instance_market"}
# file: the variables it still copies, once each, today.
ALLOWED = {
    # The EC2 inventory: read before any play (test_the_inventory_copies_are_the_roles_defaults holds them).
    "inventory/group_vars/mocha_cloud_ec2.yml": {"aws_gpu_instance_market", "aws_gpu_instance_private_key_dir",
                                                 "aws_gpu_instance_project"},
    # The settings play (preflight.yml and what it includes: store_results.yml, sweep_plan.yml, run_plan.yml before its
    # cifar10 settings): it checks that every setting is set, which the roles' defaults would answer.
    "playbooks/preflight.yml": {"aws_gpu_instance_results_bucket_enabled"},
    "playbooks/tasks/run_plan.yml": {"aws_gpu_instance_idle_minutes", "aws_gpu_instance_keep", "aws_gpu_instance_max_hours",
                                     "julia_build_jobs", "julia_build_method", "julia_build_use_binarybuilder",
                                     "julia_build_version", "mocha_backend"},
    "playbooks/tasks/store_results.yml": {"aws_gpu_instance_run_id", "cifar10_max_iter", "cifar10_restart_finished"},
    "playbooks/tasks/sweep_plan.yml": {"aws_gpu_instance_count"},
    # Settings of roles the play does not run (julia_build, mocha): the run plan of the next leg, the train play's
    # backend.
    "playbooks/tasks/recover_watch.yml": {"julia_build_jobs", "julia_build_method", "julia_build_use_binarybuilder",
                                          "julia_build_version", "mocha_backend"},
    "playbooks/train.yml": {"mocha_backend"},
}


def role_defaults():
    values = {}
    for role in ROLES:
        values.update(yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()) or {})
    return values


def literal(text):
    try:
        return True, yaml.safe_load(text.strip())
    except yaml.YAMLError:
        return False, None


def copies_in(text, defaults):
    """[(variable, line)] of every `variable | default(literal)` in TEXT whose literal is the role's default."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        for m in COPY.finditer(line.split("#", 1)[0] if line.lstrip().startswith("#") else line):
            name, (ok, value) = m.group(1), literal(m.group(2))
            # '', none, [] and {} say "not set" rather than copy a value.
            if name in defaults and ok and value == defaults[name] and value not in ("", None, [], {}):
                found.append((name, n))
        found += [(name, n) for name, marker in RULES.items() if marker in line and not line.lstrip().startswith("#")]
    return found


def copies():
    defaults, found = role_defaults(), {}
    for top in SCANNED:
        base = REPO / top
        for path in [base] if base.is_file() else sorted(base.rglob("*.yml")):
            rel = path.relative_to(REPO).as_posix()
            for name, _ in copies_in(path.read_text(), defaults):
                found[(rel, name)] = found.get((rel, name), 0) + 1
    return found


def test_the_scan_finds_a_copy():
    """The pattern itself: literal copies (quoted or not, with the second argument or not) and the artifacts rule are
    found; another value, a filter on a fact and a comment are not."""
    defaults = {"aws_gpu_instance_project": "mocha-cloud", "cifar10_max_iter": 70000, "cifar10_dir": "/var/lib/mocha-cifar10",
                "aws_gpu_instance_quota_vcpus": 8}
    text = ("a: \"{{ aws_gpu_instance_project | default('mocha-cloud', true) }}\"\n"
            "b: \"{{ cifar10_max_iter | default(70000) | int }}\"\n"
            "c: \"{{ cifar10_max_iter | default(500) }}\"\n"
            "d: '{{ cifar10_dir | default(\"/var/lib/mocha-cifar10\") }}'\n"
            "e: \"{{ aws_gpu_instance_quota_vcpus | default(8) }}{{ aws_gpu_instance_key_name | default('') }}\"\n"
            "# f: {{ cifar10_max_iter | default(70000) }}\n"
            "g: \"{{ (ansible_config_file | dirname) ~ '/artifacts' }}\"\n"
            "h: \"{{ mocha_backend_selected | default('auto') }}\"\n")
    assert copies_in(text, defaults) == [("aws_gpu_instance_project", 1), ("cifar10_max_iter", 2), ("cifar10_dir", 4),
                                         ("aws_gpu_instance_quota_vcpus", 5), ("cifar10_artifacts_dir", 7)]


def test_no_new_copy_of_a_role_default():
    found = copies()
    new = {key: n for key, n in found.items() if n > (1 if key[1] in ALLOWED.get(key[0], ()) else 0)}
    assert not new, (f"a role's default copied: {new}; read the role's value (import_role tasks_from: settings.yml, "
                     "include_role public: true, or lookup mocha.cloud.role_options source=defaults)")
    gone = sorted((path, name) for path, names in ALLOWED.items() for name in names if (path, name) not in found)
    assert not gone, f"copies ALLOWED lists are gone: {gone}; take them off ALLOWED"


def test_the_inventory_copies_are_the_roles_defaults():
    """The EC2 inventory writes the project, key directory and market defaults again: they must stay the role's."""
    names = {name for name, _ in copies_in((REPO / INVENTORY).read_text(), role_defaults())}
    assert names == INVENTORY_COPIES, f"{INVENTORY} no longer copies the aws_gpu_instance role's defaults exactly: {names}"
