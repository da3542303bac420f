"""The vars plugin mocha.cloud.settings: which file it reads, what it gives, and where that sits in Ansible's
precedence (role defaults < settings < inventory group and host variables < -e), through a real ansible-playbook run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleError
from ansible.inventory.group import Group
from ansible.inventory.host import Host
from ansible.parsing.dataloader import DataLoader
from ansible_collections.mocha.cloud.plugins.vars import settings as plugin
from conftest import REPO

PLAYBOOK_BIN = Path(sys.executable).with_name("ansible-playbook")


# --- which file -------------------------------------------------------------------------------------------------


def test_named_file_wins(tmp_path):
    named = tmp_path / "lab.yml"
    named.write_text("a: 1\n")
    (tmp_path / "settings.yml").write_text("a: 2\n")
    assert plugin.settings_path(str(named), str(tmp_path / "ansible.cfg")) == str(named)


def test_relative_and_home_paths(tmp_path, monkeypatch):
    (tmp_path / "lab.yml").write_text("a: 1\n")
    monkeypatch.chdir(tmp_path)
    assert plugin.settings_path("lab.yml", None) == str(tmp_path / "lab.yml")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert plugin.settings_path("~/lab.yml", None) == str(tmp_path / "lab.yml")


@pytest.mark.parametrize("word", ["none", "None", " NONE "])
def test_none_reads_no_file(tmp_path, word):
    (tmp_path / "settings.yml").write_text("a: 2\n")
    assert plugin.settings_path(word, str(tmp_path / "ansible.cfg")) is None


def test_a_named_file_that_is_missing_stops_with_the_way_out(tmp_path):
    with pytest.raises(AnsibleError, match=r"MOCHA_CLOUD_SETTINGS names .*nope.yml, which is not a file.*'none'"):
        plugin.settings_path(str(tmp_path / "nope.yml"), None)
    with pytest.raises(AnsibleError, match="not a file"):
        plugin.settings_path(str(tmp_path), None)  # a directory is not a settings file


def test_beside_the_config_file_else_nothing(tmp_path):
    cfg = tmp_path / "ansible.cfg"
    assert plugin.settings_path("", str(cfg)) is None  # no settings.yml there
    assert plugin.settings_path(None, None) is None  # no ansible.cfg in use
    (tmp_path / "settings.yml").write_text("a: 2\n")
    assert plugin.settings_path("", str(cfg)) == str(tmp_path / "settings.yml")


# --- what it gives ----------------------------------------------------------------------------------------------


def vars_for(entities, path, tmp_path):
    mod = plugin.VarsModule()
    mod.get_option = {"file": str(path)}.get  # what MOCHA_CLOUD_SETTINGS would give (the loader is not set up here)
    return mod.get_vars(DataLoader(), str(tmp_path), entities, cache=False)


def test_values_go_to_the_group_all_only(tmp_path):
    f = tmp_path / "s.yml"
    f.write_text("aws_gpu_instance_region: eu-west-1\ncifar10_max_iter: 500\n")
    got = vars_for([Group("all")], f, tmp_path)
    assert got == {"aws_gpu_instance_region": "eu-west-1", "cifar10_max_iter": 500, "mocha_cloud_settings_file": str(f)}
    assert vars_for([Group("gpu_hosts")], f, tmp_path) == {}
    assert vars_for([Host("all")], f, tmp_path) == {}  # a host that happens to be called all is not the group


def test_an_empty_file_gives_only_its_path(tmp_path):
    f = tmp_path / "s.yml"
    f.write_text("---\n# nothing set\n")
    assert vars_for([Group("all")], f, tmp_path) == {"mocha_cloud_settings_file": str(f)}


@pytest.mark.parametrize("body", ["- a\n- b\n", "just text\n"])
def test_a_file_that_is_not_a_mapping_is_refused(tmp_path, body):
    f = tmp_path / "s.yml"
    f.write_text(body)
    with pytest.raises(AnsibleError, match="must be a YAML mapping"):
        vars_for([Group("all")], f, tmp_path)


def test_the_checkout_enables_it():
    cfg = (REPO / "ansible.cfg").read_text()
    line = next(x for x in cfg.splitlines() if x.startswith("vars_plugins_enabled"))
    assert [p.strip() for p in line.split("=", 1)[1].split(",")] == ["ansible.builtin.host_group_vars", "mocha.cloud.settings"]
    # No playbook loads the settings file itself any more: the plugin is the one way in.
    for pb in (REPO / "playbooks").glob("*.yml"):
        assert "vars_files" not in pb.read_text(), pb


# --- precedence, through ansible-playbook --------------------------------------------------------------------------


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


# --- The lookup: the same file, for inventory sources ----------------------------------------------------------

def lookup_settings(monkeypatch, named, *terms, **kwargs):
    from ansible_collections.mocha.cloud.plugins.lookup.settings import LookupModule

    monkeypatch.setenv("MOCHA_CLOUD_SETTINGS", str(named))
    lookup = LookupModule(loader=DataLoader())
    return lookup.run(list(terms), variables={}, **kwargs)


def test_lookup_reads_the_same_file_as_the_vars_plugin(tmp_path, monkeypatch):
    named = tmp_path / "lab.yml"
    named.write_text("aws_gpu_instance_region: eu-west-1\n")
    assert lookup_settings(monkeypatch, named, "aws_gpu_instance_region") == ["eu-west-1"]
    assert lookup_settings(monkeypatch, named, "aws_gpu_instance_type", default="g4dn.xlarge") == ["g4dn.xlarge"]
    assert lookup_settings(monkeypatch, "none", "aws_gpu_instance_region", default="us-east-1") == ["us-east-1"]


def test_lookup_without_a_default_names_what_is_missing(tmp_path, monkeypatch):
    from ansible.errors import AnsibleLookupError

    named = tmp_path / "lab.yml"
    named.write_text("cifar10_max_iter: 10\n")
    with pytest.raises(AnsibleLookupError, match="does not set aws_gpu_instance_region"):
        lookup_settings(monkeypatch, named, "aws_gpu_instance_region")


def test_the_inventory_takes_its_region_from_the_lookup():
    text = (REPO / "inventory" / "aws_ec2.yml").read_text()
    assert "lookup('mocha.cloud.settings', 'aws_gpu_instance_region', default='us-east-1')" in text
    assert "MOCHA_CLOUD_SETTINGS" not in text.split("regions:")[1].split("filters:")[0]
