"""Role mocha: defaults/main.yml (the public interface) and meta/argument_specs.yml stay in step."""

import re

import pytest
import yaml
from conftest import REPO

ROLE = REPO / "roles" / "mocha"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
SPECS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
PY_TYPES = {"str": str, "path": str, "bool": bool, "int": int, "list": list, "dict": dict}


def test_same_variables():
    assert sorted(DEFAULTS) == sorted(SPECS)


def test_every_variable_is_prefixed_and_described():
    for name, spec in SPECS.items():
        assert name.startswith("mocha_"), name
        assert spec.get("description"), name
        assert spec.get("type") in PY_TYPES, name


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_defaults_match_specs(name):
    value, spec = DEFAULTS[name], SPECS[name]
    if isinstance(value, str) and "{{" in value:
        # A templated default (mocha_julia_binary follows julia_binary): the spec documents its fallback.
        assert spec["default"] in value, name
        return
    assert isinstance(value, PY_TYPES[spec["type"]]), name
    assert spec["default"] == value, name
    if "choices" in spec:
        assert value in spec["choices"]


def test_tasks_use_only_known_public_variables():
    known = set(DEFAULTS) | {
        # facts this role publishes
        "mocha_dir", "mocha_installed_version", "mocha_backend_reason", "mocha_environment", "mocha_cudnn_compat",
        "mocha_recovery", "mocha_tests_passed", "mocha_backend_selected", "mocha_gpu_smoke",
        # tags
        "mocha_preflight", "mocha_install", "mocha_configure", "mocha_verify",
    }
    used = set()
    for f in (ROLE / "tasks").glob("*.yml"):
        if f.name == "cudnn_compat.yml":
            continue  # written by the cuDNN work; checked by its own tests
        used |= set(re.findall(r"\b(mocha_[a-z0-9_]+)", f.read_text()))
    used |= set(re.findall(r"\b(mocha_[a-z0-9_]+)", (ROLE / "templates" / "mocha.sh.j2").read_text()))
    assert used - known == set()


def test_os_vars_are_private():
    for f in (ROLE / "vars").glob("*.yml"):
        for key in yaml.safe_load(f.read_text()):
            assert key.startswith("__mocha_"), (f.name, key)
