"""Role mocha: its tasks and templates use only the variables it declares or publishes (defaults vs argument_specs
for every role: test_role_specs.py)."""

import re

import yaml
from conftest import REPO

ROLE = REPO / "roles" / "mocha"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def variables(text):
    """The mocha_* names TEXT uses, less the collection's plugins (mocha.cloud.mocha_x) and Python files (mocha_x.py)."""
    return set(re.findall(r"\b(mocha_[a-z0-9_]+)", re.sub(r"mocha\.cloud\.\w+|\w+\.py\b", "", text)))


def test_tasks_use_only_known_public_variables():
    known = set(DEFAULTS) | {
        # facts this role publishes
        "mocha_dir", "mocha_installed_version", "mocha_backend_reason", "mocha_environment", "mocha_environment_file",
        "mocha_cudnn_compat",
        "mocha_recovery", "mocha_tests_passed", "mocha_backend_selected", "mocha_gpu_smoke",
        # tags
        "mocha_preflight", "mocha_install", "mocha_configure", "mocha_verify",
    }
    used = set()
    for f in (ROLE / "tasks").glob("*.yml"):
        if f.name == "cudnn_compat.yml":
            continue  # written by the cuDNN work; checked by its own tests
        used |= variables(f.read_text())
    used |= variables((ROLE / "templates" / "mocha.sh.j2").read_text())
    assert used - known == set()
