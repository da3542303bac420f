"""The lookup mocha.cloud.role_options: the roles' own argument specs, found where the collection loader found the
collection (no path relative to a playbook), combined; a missing role or spec is an error that names it."""

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleLookupError
from ansible_collections.mocha.cloud.plugins.lookup import role_options
from conftest import REPO


def lookup():
    return role_options.LookupModule()


def test_the_collection_is_found_where_the_loader_found_it():
    assert (Path(role_options.collection_root()) / "galaxy.yml").read_text() == (REPO / "galaxy.yml").read_text()


def test_options_of_the_roles_named_combined():
    got = lookup().run(["cuda", "mocha"], variables={})[0]
    for role in ("cuda", "mocha"):
        spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
        for name, option in spec["argument_specs"]["main"]["options"].items():
            assert got[name] == option
    assert "mocha_backend" in got and not any(k.startswith("hdf5_") for k in got)


def test_a_role_the_collection_lacks_is_named(tmp_path):
    with pytest.raises(AnsibleLookupError, match="no role 'nosuch' with meta/argument_specs.yml"):
        role_options.role_options(str(tmp_path), ["nosuch"])


def test_a_spec_without_main_options_is_named(tmp_path):
    meta = tmp_path / "roles" / "x" / "meta"
    meta.mkdir(parents=True)
    (meta / "argument_specs.yml").write_text("argument_specs:\n  other: {options: {}}\n")
    with pytest.raises(AnsibleLookupError, match="no options for the entry point main"):
        role_options.role_options(str(tmp_path), ["x"])


def test_the_defaults_of_the_roles_named():
    got = lookup().run(["hdf5", "julia_build"], variables={}, source="defaults")[0]
    for role in ("hdf5", "julia_build"):
        for name, value in yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()).items():
            assert got[name] == value
    assert not any(k.startswith("cuda_") for k in got)


def test_an_unknown_source_is_refused():
    with pytest.raises(AnsibleLookupError, match="source must be argument_specs or defaults"):
        lookup().run(["cuda"], variables={}, source="vars")
