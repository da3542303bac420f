"""What ansible-doc shows for the collection: one doc per filter (its own), every module with attributes and a
version_added this collection has had, the vars plugin documented."""

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

ANSIBLE_DOC = Path(sys.executable).with_name("ansible-doc")
VERSION = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]


def vtuple(text):
    return tuple(int(x) for x in str(text).split("."))


def every_filter():
    """(filter name, python file) for every filter every FilterModule of the collection returns."""
    out = []
    for path in sorted((REPO / "plugins" / "filter").glob("*.py")):
        mod = importlib.import_module(f"ansible_collections.mocha.cloud.plugins.filter.{path.stem}")
        out.extend((name, path.name) for name in mod.FilterModule().filters())
    return out


FILTERS = every_filter()


@pytest.fixture(scope="module")
def doc_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("docs-collections")
    (base / "ansible_collections" / "mocha").mkdir(parents=True)
    os.symlink(REPO, base / "ansible_collections" / "mocha" / "cloud")
    (base / "ansible.cfg").write_text("[defaults]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(base), ANSIBLE_CONFIG=str(base / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return env


def ansible_doc(env, plugin_type, *names):
    out = subprocess.run([str(ANSIBLE_DOC), "-t", plugin_type, "--json", *names], env=env, capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_collection_has_the_filters_we_think():
    names = [n for n, _ in FILTERS]
    assert len(names) == len(set(names)) >= 16, names


def test_each_filter_has_its_own_doc_file():
    for name, pyfile in FILTERS:
        doc_file = REPO / "plugins" / "filter" / f"{name}.yml"
        assert doc_file.is_file(), f"{name} (in {pyfile}) has no {doc_file.name}"
        doc = yaml.safe_load(doc_file.read_text())
        assert doc["DOCUMENTATION"]["name"] == name, doc_file
        assert doc.get("EXAMPLES") and f"mocha.cloud.{name}" in doc["EXAMPLES"], f"{doc_file.name}: no example using it"
        assert doc.get("RETURN", {}).get("_value"), doc_file
    # No filter doc left behind for a filter that does not exist, and no docs inside the .py files (one place).
    assert {p.stem for p in (REPO / "plugins" / "filter").glob("*.yml")} == {n for n, _ in FILTERS}
    for path in (REPO / "plugins" / "filter").glob("*.py"):
        assert "DOCUMENTATION" not in path.read_text(), path


def test_ansible_doc_shows_each_filter_its_own_text(doc_env):
    shown = ansible_doc(doc_env, "filter", *[f"mocha.cloud.{n}" for n, _ in FILTERS])
    wrong = []
    short = {}
    for name, _ in FILTERS:
        doc = shown[f"mocha.cloud.{name}"]["doc"]
        doc_file = REPO / "plugins" / "filter" / f"{name}.yml"
        own = yaml.safe_load(doc_file.read_text())["DOCUMENTATION"] if doc_file.is_file() else {}
        if doc["name"] != name or doc["short_description"] != own.get("short_description"):
            wrong.append(f"{name}: shows {doc['name']!r} / {doc['short_description']!r}")
        short[name] = doc["short_description"]
    assert not wrong, wrong
    assert len(set(short.values())) == len(short), "two filters share a description"


def test_modules_declare_attributes_and_a_version_they_were_added_in(doc_env):
    modules = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py"))
    shown = ansible_doc(doc_env, "module", *[f"mocha.cloud.{m}" for m in modules])
    problems = []
    for m in modules:
        doc = shown[f"mocha.cloud.{m}"]["doc"]
        attrs = doc.get("attributes") or {}
        for attr in ("check_mode", "diff_mode"):
            if attrs.get(attr, {}).get("support") not in ("full", "partial", "none", "N/A"):
                problems.append(f"{m}: attribute {attr} missing")
        if vtuple(doc["version_added"]) > vtuple(VERSION):
            problems.append(f"{m}: version_added {doc['version_added']} is after this collection's {VERSION}")
    assert not problems, problems


def test_aws_modules_use_amazon_aws_options_and_the_action_group(doc_env):
    shown = ansible_doc(doc_env, "module", "mocha.cloud.aws_gpu_quota", "mocha.cloud.aws_gpu_price")
    for name, entry in shown.items():
        opts = entry["doc"]["options"]
        # amazon.aws.common.modules and amazon.aws.region.modules: the same options as every amazon.aws module.
        for opt in ("region", "profile", "endpoint_url", "access_key", "secret_key", "session_token", "validate_certs"):
            assert opt in opts, (name, opt)
        assert entry["doc"]["attributes"]["action_group"]["membership"] == ["mocha.cloud.aws"], name
        assert any(str(r).startswith("boto3") for r in entry["doc"].get("requirements", [])), name
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    group = runtime["action_groups"]["aws"]
    assert {"metadata": {"extend_group": ["amazon.aws.aws"]}} in group
    assert {"aws_gpu_quota", "aws_gpu_price"} <= {g for g in group if isinstance(g, str)}
    for path in (REPO / "plugins" / "modules").glob("aws_gpu_*.py"):
        text = path.read_text()
        assert "AnsibleAWSModule" in text and "retry_decorator=" in text, path
        assert not re.search(r"boto3\.(client|session)|import boto3", text), f"{path.name} makes its own boto3 client"


def test_vars_plugin_is_documented(doc_env):
    doc = ansible_doc(doc_env, "vars", "mocha.cloud.settings")["mocha.cloud.settings"]["doc"]
    assert doc["options"]["file"]["env"] == [{"name": "MOCHA_CLOUD_SETTINGS"}]
    assert "stage" in doc["options"]


DOC_OPENINGS = {
    "escape_for": "Returns text that the target format reads back as exactly the value given",
    "aws_gpu_limits": "Checks the settings of the role aws_gpu_instance that bound what a run can cost or expose",
    "ssh_cidr": "Reads a CIDR or a single address (IPv4 or IPv6) as the network it means",
    "ec2_tag_vars": "Anyone who can tag an instance in the account can write its tags",
}


@pytest.mark.parametrize("name", list(DOC_OPENINGS))
def test_filter_documentation_renders(name):
    """ansible-doc renders each new filter's own description (from the YAML beside its plugin)."""
    doc = subprocess.run([str(Path(sys.executable).with_name("ansible-doc")), "-t", "filter", f"mocha.cloud.{name}"],
                         capture_output=True, text=True, cwd=REPO, env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
                         check=False)
    assert doc.returncode == 0, doc.stderr
    flat = " ".join(doc.stdout.split())
    assert f"FILTER mocha.cloud.{name}" in flat.replace("\x1b[1m", "").replace("\x1b[0m", "")
    assert DOC_OPENINGS[name] in flat, flat[:500]
