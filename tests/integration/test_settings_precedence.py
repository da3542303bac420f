"""The vars plugin mocha.cloud.settings in Ansible's precedence, through a real ansible-playbook run: role defaults <
settings < inventory group and host variables < -e; MOCHA_CLOUD_SETTINGS names another file, or none."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

PLAYBOOK_BIN = Path(sys.executable).with_name("ansible-playbook")


@pytest.fixture
def project(tmp_path):
    """A project dir with its own ansible.cfg (the plugin enabled), settings.yml, an inventory with group and host
    variables, and a role whose defaults are the lowest layer."""
    coll = tmp_path / "collections" / "ansible_collections" / "mocha"
    coll.mkdir(parents=True)
    os.symlink(REPO, coll / "cloud")
    (tmp_path / "ansible.cfg").write_text(
        "[defaults]\n"
        f"collections_path = {tmp_path / 'collections'}\n"
        "roles_path = roles\n"
        "vars_plugins_enabled = ansible.builtin.host_group_vars, mocha.cloud.settings\n"
    )
    (tmp_path / "settings.yml").write_text(
        "from_settings: settings\nover_group: settings\nover_inventory_file_group: settings\nover_host: settings\nover_cli: settings\n"
        "over_default: settings\n")
    (tmp_path / "inventory").mkdir()
    (tmp_path / "inventory" / "hosts.yml").write_text(
        "all:\n  children:\n    gpu_hosts:\n      hosts:\n"
        "        box:\n          ansible_connection: local\n"
        f"          ansible_python_interpreter: {sys.executable}\n"
        "          over_host: host\n"
        "      vars:\n        over_inventory_file_group: inventory-file\n")
    (tmp_path / "inventory" / "group_vars").mkdir()
    (tmp_path / "inventory" / "group_vars" / "gpu_hosts.yml").write_text("over_group: group\n")
    defaults = tmp_path / "roles" / "probe" / "defaults"
    defaults.mkdir(parents=True)
    (defaults / "main.yml").write_text("over_default: default\nonly_default: default\n")
    tasks = tmp_path / "roles" / "probe" / "tasks"
    tasks.mkdir(parents=True)
    out = tmp_path / "seen.json"
    (tasks / "main.yml").write_text(
        "- name: Write what the play sees\n"
        "  ansible.builtin.copy:\n"
        "    content: \"{{ {'from_settings': from_settings | default('unset'), 'over_group': over_group,"
        " 'over_host': over_host, 'over_inventory_file_group': over_inventory_file_group,"
        " 'over_cli': over_cli | default('unset'), 'over_default': over_default,"
        " 'only_default': only_default, 'file': mocha_cloud_settings_file | default('unset')} | to_json }}\"\n"
        f"    dest: {out}\n"
        "    mode: '0644'\n")
    (tmp_path / "play.yml").write_text("- name: Probe\n  hosts: gpu_hosts\n  gather_facts: false\n  roles: [probe]\n")
    return tmp_path


def run_probe(project, env_extra=None, *extra):
    env = {k: v for k, v in os.environ.items() if k not in ("ANSIBLE_CONFIG", "MOCHA_CLOUD_SETTINGS")}
    env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": str(project / "tmp")}, **(env_extra or {}))
    proc = subprocess.run([str(PLAYBOOK_BIN), "-i", "inventory/hosts.yml", "play.yml", *extra], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((project / "seen.json").read_text())


def test_precedence_defaults_settings_inventory_cli(project):
    seen = run_probe(project, None, "-e", "over_cli=cli")
    assert seen == {
        "from_settings": "settings",   # the settings file reaches the play
        "over_default": "settings",    # settings beat role defaults
        "only_default": "default",
        "over_group": "group",         # inventory group_vars/<group> beat settings
        # Group variables written in the inventory file itself rank below group_vars/all in Ansible, and so below
        # the settings too (the settings sit where group_vars/all sits).
        "over_inventory_file_group": "settings",
        "over_host": "host",           # so do host variables
        "over_cli": "cli",             # and -e beats everything
        "file": str(project / "settings.yml"),
    }


def test_named_file_and_none_through_ansible_playbook(project):
    other = project / "other.yml"
    other.write_text("from_settings: other\nover_default: other\n")
    seen = run_probe(project, {"MOCHA_CLOUD_SETTINGS": str(other)})
    assert (seen["from_settings"], seen["over_default"], seen["file"]) == ("other", "other", str(other))
    seen = run_probe(project, {"MOCHA_CLOUD_SETTINGS": "none"})
    assert (seen["from_settings"], seen["over_default"], seen["file"]) == ("unset", "default", "unset")
