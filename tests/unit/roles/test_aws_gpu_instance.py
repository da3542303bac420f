"""roles/aws_gpu_instance: its public names and safe defaults, and the limits entry point covers what limits.yml reads
(defaults vs argument_specs for every role: test_role_specs.py)."""

import re

import yaml
from conftest import REPO

ROLE = REPO / "roles" / "aws_gpu_instance"
PUBLIC = ("_region", "_type", "_market", "_count", "_ssh_cidr", "_allow_world_ssh", "_max_hours", "_ami_id",
          "_ami_ssm_parameter", "_volume_size_gb", "_run_id", "_request_quota_increase", "_check_quota", "_show_price")


def load(path):
    return yaml.safe_load((ROLE / path).read_text())


def test_public_names_and_safe_defaults():
    defaults = load("defaults/main.yml")
    for suffix in PUBLIC:
        assert "aws_gpu_instance" + suffix in defaults, suffix
    assert defaults["aws_gpu_instance_check_quota"] is True and defaults["aws_gpu_instance_show_price"] is True
    assert defaults["aws_gpu_instance_allow_world_ssh"] is False
    assert defaults["aws_gpu_instance_volume_size_gb"] == 100


def test_limits_entry_point_covers_the_task_file():
    """tasks_from: limits.yml validates what limits.yml reads (with main's types and defaults: test_role_specs.py)."""
    specs = load("meta/argument_specs.yml")["argument_specs"]
    limits = specs["limits"]["options"]
    assert set(limits) <= set(specs["main"]["options"])
    used = set(re.findall(r"\baws_gpu_instance_\w+", (ROLE / "tasks" / "limits.yml").read_text()))
    assert used == set(limits), used ^ set(limits)


EXPIRY = ROLE / "files" / "mocha-cloud-expiry.sh"


def expiry(tmp_path, verb, board="", cloud_init=""):
    """Run the expiry script under a fake root, with a FAKE systemctl that records what it was asked."""
    import os
    import subprocess

    for rel, text in (("sys/devices/virtual/dmi/id/board_asset_tag", board), ("var/lib/cloud/data/instance-id", cloud_init)):
        path = tmp_path / "root" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n" if text else "")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "systemctl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/systemctl.calls\n')
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", MOCHA_CLOUD_EXPIRY_ROOT=str(tmp_path / "root"))
    run = subprocess.run(["sh", str(EXPIRY), verb], env=env, capture_output=True, text=True, timeout=30, check=False)
    calls = (tmp_path / "systemctl.calls").read_text().splitlines() if (tmp_path / "systemctl.calls").exists() else []
    (tmp_path / "systemctl.calls").unlink(missing_ok=True)
    return run, calls


def test_the_expiry_powers_off_only_the_instance_it_was_armed_on(tmp_path):
    """An image made from the instance carries the timer and the armed id: on the new instance it powers nothing off."""
    run, calls = expiry(tmp_path, "arm", board="i-0123456789abcdef0", cloud_init="i-0123456789abcdef0")
    assert run.returncode == 0 and (tmp_path / "root/etc/mocha-cloud/expiry-instance-id").read_text() == "i-0123456789abcdef0\n"
    run, calls = expiry(tmp_path, "fire", board="i-0123456789abcdef0")
    assert calls == ["poweroff"], run.stderr
    # The same disk, booted as another instance (the board asset tag is the new id; cloud-init may not have run yet).
    run, calls = expiry(tmp_path, "fire", board="i-0fedcba9876543210", cloud_init="i-0123456789abcdef0")
    assert calls == ["disable --now mocha-cloud-expiry.timer"]
    assert "this is instance i-0fedcba9876543210, the timer was armed on i-0123456789abcdef0: not powering off" in run.stderr
    # No DMI tag (a Xen instance): cloud-init's record of the current instance decides.
    run, calls = expiry(tmp_path, "fire", cloud_init="i-0123456789abcdef0")
    assert calls == ["poweroff"]
    run, calls = expiry(tmp_path, "fire", cloud_init="i-0aaaaaaaaaaaaaaaa")
    assert calls == ["disable --now mocha-cloud-expiry.timer"]


def test_an_expiry_never_armed_powers_nothing_off(tmp_path):
    run, calls = expiry(tmp_path, "fire", board="i-0123456789abcdef0")
    assert calls == ["disable --now mocha-cloud-expiry.timer"] and "armed on none" in run.stderr


def test_autodown_entry_point_covers_its_task_file():
    specs = load("meta/argument_specs.yml")["argument_specs"]
    used = set(re.findall(r"\baws_gpu_instance_\w+", (ROLE / "tasks" / "autodown.yml").read_text())) - {"aws_gpu_instance_autodown"}
    assert used == set(specs["autodown"]["options"]), used ^ set(specs["autodown"]["options"])
    defaults = load("defaults/main.yml")
    assert defaults["aws_gpu_instance_keep"] is False and defaults["aws_gpu_instance_idle_minutes"] == 15
