"""The inventory plugin mocha.cloud.ec2_without_credentials: it takes an amazon.aws.aws_ec2 source only when
botocore finds no credentials and the file brings none of its own; then ansible-inventory lists no host and prints
no warning. With credentials it declines and amazon.aws.aws_ec2 reads the file."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.mocha.cloud.plugins.inventory import ec2_without_credentials as plugin
from conftest import REPO

INVENTORY_BIN = Path(sys.executable).with_name("ansible-inventory")


def source(tmp_path, text, name="aws_ec2.yml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_takes_the_project_inventory_without_credentials(no_credentials):
    assert plugin.credentials_found() is False
    assert plugin.InventoryModule().verify_file(str(REPO / "inventory" / "aws_ec2.yml"))


def test_declines_when_credentials_exist(no_credentials, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert plugin.credentials_found() is True
    assert not plugin.InventoryModule().verify_file(str(REPO / "inventory" / "aws_ec2.yml"))


def test_declines_a_profile_from_the_shared_files(no_credentials, monkeypatch):
    creds = no_credentials / "credentials"
    creds.write_text("[lab]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_PROFILE", "lab")
    assert plugin.credentials_found() is True


def test_a_missing_profile_is_left_to_the_real_plugin(no_credentials, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    assert plugin.credentials_found() is True  # amazon.aws.aws_ec2 then names the profile in its error


@pytest.mark.parametrize(
    "text, name",
    [
        ("plugin: amazon.aws.aws_ec2\nprofile: lab\n", "aws_ec2.yml"),  # its own profile
        ("plugin: amazon.aws.aws_ec2\naccess_key: x\n", "aws_ec2.yml"),  # its own keys
        ("plugin: amazon.aws.aws_rds\n", "aws_ec2.yml"),  # another plugin
        ("plugin: amazon.aws.aws_ec2\n", "hosts.yml"),  # not an aws_ec2 source file name
        ("[gpu_hosts]\nbox\n", "aws_ec2.yml"),  # not YAML of a plugin
    ],
)
def test_declines_other_files(no_credentials, text, name):
    assert not plugin.InventoryModule().verify_file(source(no_credentials, text, name))


def test_ansible_inventory_lists_nothing_and_warns_nothing(no_credentials):
    env = {k: v for k, v in os.environ.items()} | {
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "MOCHA_CLOUD_SETTINGS": "none",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "false",
    }
    out = subprocess.run([str(INVENTORY_BIN), "-i", str(REPO / "inventory" / "aws_ec2.yml"), "--list"], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "WARNING" not in out.stderr and "Failed to parse" not in out.stderr, out.stderr
    listed = json.loads(out.stdout)
    assert listed["_meta"]["hostvars"] == {}
    assert listed["all"].get("children", []) == ["ungrouped"]
