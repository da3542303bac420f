"""The lookup mocha.cloud.cli_extra_vars: what a child ansible-playbook needs to see the same extra vars, @files made
absolute, inline values never on its command line, the vault options passed on, a password that was asked for refused."""

import os

import pytest
from ansible import context
from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.collections import ImmutableDict
from ansible.parsing.dataloader import DataLoader
from ansible_collections.mocha.cloud.plugins.lookup.cli_extra_vars import LookupModule, absolute


def lookup(monkeypatch, **cliargs):
    monkeypatch.setattr(context, "CLIARGS", ImmutableDict(cliargs))
    return LookupModule(loader=DataLoader()).run([], inline_prefix="/run/leg-1-vars")


def test_inline_values_go_to_files_and_files_stay_files(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    got = lookup(monkeypatch, extra_vars=("a=1 token=s3cret", '{"b": 2, "c": [1]}', "@more.yml", "@/abs/x.json"))
    assert got == [
        {"arg": "--extra-vars=@/run/leg-1-vars-0.json", "file": "/run/leg-1-vars-0.json", "vars": {"a": "1", "token": "s3cret"}},
        {"arg": "--extra-vars=@/run/leg-1-vars-1.json", "file": "/run/leg-1-vars-1.json", "vars": {"b": 2, "c": [1]}},
        {"arg": f"--extra-vars=@{tmp_path}/more.yml"},
        {"arg": "--extra-vars=@/abs/x.json"},
    ]
    assert "s3cret" not in " ".join(item["arg"] for item in got)  # nothing inline reaches a command line
    with pytest.raises(AnsibleLookupError, match="not a mapping of variables"):
        lookup(monkeypatch, extra_vars=("[1]",))
    assert absolute("@~/s.yml") == "@" + os.path.expanduser("~/s.yml") and absolute("@") == "@"


def test_vault_options_are_passed_on_with_absolute_paths(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    got = lookup(monkeypatch, extra_vars=("@secrets.yml",), vault_ids=["dev@pw.txt", "/abs/script"],
                 vault_password_files=[str(tmp_path / "other.txt")])
    assert [item["arg"] for item in got] == [f"--extra-vars=@{tmp_path}/secrets.yml", f"--vault-id=dev@{tmp_path}/pw.txt",
                                             "--vault-id=/abs/script", f"--vault-password-file={tmp_path}/other.txt"]


@pytest.mark.parametrize("cliargs", [{"ask_vault_pass": True}, {"vault_ids": ["dev@prompt"]}])
def test_a_password_that_was_asked_for_is_refused_with_the_way_out(monkeypatch, cliargs):
    with pytest.raises(AnsibleLookupError, match="cannot ask for the vault password again. Give it as a file instead"):
        lookup(monkeypatch, extra_vars=("a=1",), **cliargs)


def test_none_given(monkeypatch):
    assert lookup(monkeypatch) == []
