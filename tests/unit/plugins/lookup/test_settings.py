"""The lookup mocha.cloud.settings: the same settings file as the vars plugin, for inventory sources (which run
before any vars plugin)."""

import pytest
from ansible.parsing.dataloader import DataLoader
from conftest import REPO


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
