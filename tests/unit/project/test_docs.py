"""The documentation that is generated, or that promises commands, stays true."""

import re
import subprocess
import sys

from conftest import REPO


def test_variables_table_is_current():
    out = subprocess.run([sys.executable, str(REPO / "scripts/vars-table"), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_variables_table_lists_every_default():
    table = (REPO / "docs/variables.md").read_text()
    import yaml

    for defaults in REPO.glob("roles/*/defaults/main.yml"):
        for name in yaml.safe_load(defaults.read_text()) or {}:
            assert f"`{name}`" in table, f"{name} ({defaults}) is missing from docs/variables.md"


def test_readme_starts_with_the_two_commands():
    head = (REPO / "README.md").read_text().split("```")[1]
    lines = [line for line in head.splitlines() if line.strip() and not line.startswith("sh")]
    assert lines[0].startswith("./scripts/setup && .venv/bin/ansible-playbook site.yml")
    assert lines[1].startswith("./scripts/test")
    assert "./scripts/test" in (REPO / ".ci/run").read_text()


def test_settings_file_matches_the_roles_specs():
    """settings.yml holds role variables only, each valid against its role's argument spec (the preflight play checks
    the same specs), and every setting the preflight requires is in it."""
    import yaml

    settings = yaml.safe_load((REPO / "settings.yml").read_text())
    play = yaml.safe_load((REPO / "playbooks/preflight.yml").read_text())[0]
    assert set(play["vars"]["__settings_required"]) <= set(settings)
    for name, value in settings.items():
        role = re.match(r"(aws_gpu_instance|julia_build|mocha|cifar10|hdf5|cuda)_", name).group(1)
        assert role in play["vars"]["__settings_roles"], name
        role_spec = yaml.safe_load((REPO / f"roles/{role}/meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
        assert name in role_spec, f"{name} is not a variable of role {role}"
        if "choices" in role_spec[name]:
            assert value in role_spec[name]["choices"], name


def documented_policies(doc="docs/aws.md", section="## IAM permissions the operator needs"):
    """The JSON policy documents of a section of the docs, in order."""
    import json

    text = (REPO / doc).read_text().split(section, 1)[1].split("\n## ", 1)[0]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]


def allows(statement, action):
    """Whether an Allow statement's actions (wildcards as IAM reads them, case-insensitive) cover ACTION."""
    import fnmatch

    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    return statement.get("Effect") == "Allow" and any(fnmatch.fnmatch(action.lower(), a.lower()) for a in actions)


# Actions that give a role its powers, or change the boundary that caps them.
ROLE_POWERS = ("iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary")
NEVER = ("iam:DeleteRolePermissionsBoundary", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy",
         "iam:CreatePolicy", "iam:DeletePolicyVersion", "iam:PutUserPolicy", "iam:AttachUserPolicy", "iam:CreateUser",
         "iam:CreateAccessKey", "sts:AssumeRole")


def test_the_documented_operator_policy_cannot_make_a_role_beyond_its_boundary():
    """Whoever holds the operator policy of docs/aws.md may make, empower and pass roles on the project's path: each only
    with the permissions boundary (iam:PermissionsBoundary), never removing it or editing a policy it could be."""
    policies = documented_policies()
    operator = policies[0]
    for statement in operator["Statement"]:
        for action in ROLE_POWERS:
            if allows(statement, action):
                condition = statement.get("Condition", {}).get("StringEquals", {}).get("iam:PermissionsBoundary", "")
                assert re.fullmatch(r"arn:aws:iam::ACCOUNT:policy/BOUNDARY", condition), (statement["Sid"], action)
        for action in NEVER:
            assert not allows(statement, action), (statement["Sid"], action)
        if allows(statement, "iam:PassRole"):
            assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
            assert statement["Resource"] == "arn:aws:iam::ACCOUNT:role/mocha-cloud/PROJECT/*"
    assert any(allows(s, "iam:CreateRole") for s in operator["Statement"])  # still enough to provision
    # The boundary itself: objects and listing in the project's buckets of this account, nothing of IAM.
    boundary = policies[1]
    actions = {a for s in boundary["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"}
    assert all(s["Condition"] == {"StringEquals": {"s3:ResourceAccount": "ACCOUNT"}} for s in boundary["Statement"])
def _readme_section(title):
    text = (REPO / "README.md").read_text()
    return text.split(f"\n## {title}", 1)[1].split("\n## ", 1)[0]


def test_readme_settings_table_says_what_settings_yml_ships():
    """Each row of the README's settings table gives the value settings.yml ships (a row that drifted from the file,
    as one that said 4 hours while the file said 22, fails here)."""
    import yaml

    settings = yaml.safe_load((REPO / "settings.yml").read_text())
    rows = re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", _readme_section("Settings"), re.M)
    assert len(rows) >= 8
    for name, value in rows:
        assert name in settings, f"README's settings table lists {name}, which settings.yml does not set"
        assert value == str(settings[name]), f"README says {name} is {value}, settings.yml ships {settings[name]}"


def test_readme_costs_agree_with_the_run_plan_of_settings_yml():
    """The Costs section's figures are the run plan's for settings.yml as shipped (within 10%), and Julia's method is
    the one the plan expects there."""
    import yaml
    from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu, run_plan

    settings = yaml.safe_load((REPO / "settings.yml").read_text())
    hourly = aws_gpu.GPU_TYPES[settings["aws_gpu_instance_type"]][1]
    plan = run_plan.plan({"instance_type": settings["aws_gpu_instance_type"], "max_iter": settings["cifar10_max_iter"],
                          "julia_version": settings["julia_build_version"], "julia_method": settings["julia_build_method"],
                          "backend": settings["mocha_backend"], "hourly_price_usd": hourly,
                          "max_hours": settings["aws_gpu_instance_max_hours"]})
    costs = " ".join(_readme_section("Costs").split())
    train_h = run_plan.training_seconds(settings["cifar10_max_iter"], run_plan.DOC_SECONDS_PER_200["cpu"]) / 3600
    figures = {
        "the CPU backend's training": ("iterations on the CPU backend take about {} hours", train_h),
        "the plan's hours": ("adds every phase and a margin: about {} hours", plan["total_hours"]),
        "the plan's cost": ("and about {} USD on demand", plan["cost_usd"]),
        "the cost at the instance's life": ("bounds the cost (about {} USD)", plan["cost_at_max_hours_usd"]),
    }
    for what, (phrase, want) in figures.items():
        m = re.search(re.escape(phrase).replace(r"\{\}", r"(\d+)"), costs)
        assert m, f"README's Costs section no longer says {phrase!r}"
        assert abs(int(m.group(1)) - want) <= max(1.0, 0.1 * want), f"README gives {m.group(1)} for {what}, the plan {want}"
    assert f"{settings['aws_gpu_instance_max_hours']}-hour life" in costs
    method = run_plan.julia_method_expected(settings["julia_build_method"], settings["julia_build_version"])[0]
    assert method == "binary" and "official, sha256-checked binary" in costs and "no source build" in costs
