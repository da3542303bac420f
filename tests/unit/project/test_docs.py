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
