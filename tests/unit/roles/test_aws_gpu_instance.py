"""roles/aws_gpu_instance: meta/argument_specs.yml is kept in step with defaults/main.yml."""

import yaml
from conftest import REPO

ROLE = REPO / "roles" / "aws_gpu_instance"
PUBLIC = ("_region", "_type", "_market", "_count", "_ssh_cidr", "_allow_world_ssh", "_max_hours", "_ami_id",
          "_ami_ssm_parameter", "_volume_size_gb", "_run_id", "_request_quota_increase", "_check_quota", "_show_price")


def load(path):
    return yaml.safe_load((ROLE / path).read_text())


def test_every_default_is_specified_and_the_other_way_round():
    defaults = load("defaults/main.yml")
    specs = load("meta/argument_specs.yml")["argument_specs"]
    options = {**specs["main"]["options"], **specs["teardown"]["options"]}
    assert set(defaults) == set(options)
    for name, spec in options.items():
        assert spec.get("description"), name
        if "default" in spec:
            assert spec["default"] == defaults[name], name
        else:  # only templated defaults may be left out of the spec
            assert "{{" in str(defaults[name]), name


def test_public_names_and_prefix():
    defaults = load("defaults/main.yml")
    assert all(name.startswith("aws_gpu_instance_") for name in defaults)
    for suffix in PUBLIC:
        assert "aws_gpu_instance" + suffix in defaults, suffix
    assert defaults["aws_gpu_instance_check_quota"] is True and defaults["aws_gpu_instance_show_price"] is True
    assert defaults["aws_gpu_instance_allow_world_ssh"] is False
    assert defaults["aws_gpu_instance_volume_size_gb"] == 100


def test_teardown_entry_point_shares_main_types():
    specs = load("meta/argument_specs.yml")["argument_specs"]
    for name, spec in specs["teardown"]["options"].items():
        if name in specs["main"]["options"]:
            assert spec == specs["main"]["options"][name], name


def test_limits_entry_point_shares_main_types_and_covers_the_task_file():
    """tasks_from: limits.yml validates what limits.yml reads, with main's types and defaults."""
    import re

    specs = load("meta/argument_specs.yml")["argument_specs"]
    limits = specs["limits"]["options"]
    for name, spec in limits.items():
        assert spec == specs["main"]["options"][name], name
    used = set(re.findall(r"\baws_gpu_instance_\w+", (ROLE / "tasks" / "limits.yml").read_text()))
    assert used == set(limits), used ^ set(limits)
