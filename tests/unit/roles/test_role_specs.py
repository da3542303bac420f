"""defaults/main.yml and meta/argument_specs.yml of the hdf5 and julia_build roles say the same thing."""

import pytest
import yaml
from conftest import REPO

ROLES = ["hdf5", "julia_build"]
PY_TYPES = {"str": str, "bool": bool, "int": int, "list": list, "dict": dict, "path": str}


def load(role):
    defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return defaults, specs["argument_specs"]["main"]["options"]


@pytest.mark.parametrize("role", ROLES)
def test_same_variables(role):
    defaults, options = load(role)
    assert set(defaults) == set(options), {"only in defaults": set(defaults) - set(options), "only in specs": set(options) - set(defaults)}


@pytest.mark.parametrize("role", ROLES)
def test_every_variable_is_prefixed(role):
    defaults, _ = load(role)
    assert all(name.startswith(role + "_") for name in defaults), [n for n in defaults if not n.startswith(role + "_")]


@pytest.mark.parametrize("role", ROLES)
def test_same_defaults_and_types(role):
    defaults, options = load(role)
    for name, spec in options.items():
        assert spec.get("default") == defaults[name], name
        assert isinstance(defaults[name], PY_TYPES[spec["type"]]), (name, spec["type"], defaults[name])
        assert spec.get("description"), name
        if "choices" in spec:
            assert defaults[name] in spec["choices"], name


@pytest.mark.parametrize("role", ROLES)
def test_private_vars_use_double_underscore_prefix(role):
    for f in (REPO / "roles" / role / "vars").glob("*.yml"):
        data = yaml.safe_load(f.read_text()) or {}
        bad = [k for k in data if not k.startswith("__" + role + "_")]
        assert not bad, (f.name, bad)


def test_checksums_are_sha256():
    sums = yaml.safe_load((REPO / "roles" / "julia_build" / "vars" / "checksums.yml").read_text())["__julia_build_binary_checksums"]
    for version, by_arch in sums.items():
        assert version.count(".") == 2, version
        for arch, digest in by_arch.items():
            assert len(digest) == 64 and int(digest, 16) >= 0, (version, arch)
