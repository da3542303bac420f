"""The lookup mocha.cloud.cli_extra_vars: the -e arguments of the running ansible-playbook, @files made absolute."""

import os

from ansible import context
from ansible.module_utils.common.collections import ImmutableDict
from ansible_collections.mocha.cloud.plugins.lookup.cli_extra_vars import LookupModule, absolute


def test_the_arguments_as_given_with_files_made_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(context, "CLIARGS", ImmutableDict(extra_vars=("a=1", '{"b": 2}', "@more.yml", "@/abs/x.json")))
    assert LookupModule().run([]) == ["a=1", '{"b": 2}', f"@{tmp_path}/more.yml", "@/abs/x.json"]
    assert absolute("@~/s.yml") == "@" + os.path.expanduser("~/s.yml") and absolute("@") == "@"


def test_none_given(monkeypatch):
    monkeypatch.setattr(context, "CLIARGS", ImmutableDict())
    assert LookupModule().run([]) == []
