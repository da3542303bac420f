"""The vars plugin mocha.cloud.settings: which file it reads and what it gives (its place in Ansible's precedence,
through a real ansible-playbook run, is tests/integration/test_settings_precedence.py)."""


import pytest
from ansible.errors import AnsibleError
from ansible.inventory.group import Group
from ansible.inventory.host import Host
from ansible.parsing.dataloader import DataLoader
from ansible_collections.mocha.cloud.plugins.vars import settings as plugin
from conftest import REPO

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
