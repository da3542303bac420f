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
