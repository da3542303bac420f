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
