"""The collection as a package: one license, honest metadata, a clean build with only what an installed
collection needs."""

import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from conftest import REPO

LICENSE_ID = "GPL-3.0-or-later"
GPL_HEADER = "# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)"
# Anything that states a license: a header line, an SPDX tag, a role's or the collection's license field.
LICENSE_MENTION = re.compile(r"General Public License|SPDX-License-Identifier|^\s*license:|\bMIT License\b|Apache License", re.M)


def tracked_files():
    out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard"],
                         capture_output=True, text=True, check=True).stdout
    return [REPO / rel for rel in out.splitlines() if (REPO / rel).is_file()]


def test_one_license_stated_once_in_a_license_file():
    text = (REPO / "LICENSE").read_text()
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 3, 29 June 2007" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the full text, not a stub
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert galaxy["license"] == [LICENSE_ID]
    assert "license_file" not in galaxy  # license and license_file are exclusive


def test_every_file_that_states_a_license_agrees():
    disagree = []
    headers = 0
    for path in tracked_files():
        if path.name == "LICENSE" or path.suffix in (".png", ".gz", ".h5") or path == Path(__file__):
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for m in LICENSE_MENTION.finditer(text):
            line = text[text.rfind("\n", 0, m.start()) + 1:text.find("\n", m.end())]
            rel = path.relative_to(REPO)
            if "General Public License" in line:
                headers += 1
                ok = line.strip() == GPL_HEADER.strip()
            elif "SPDX-License-Identifier" in line:
                ok = line.strip().endswith(f"SPDX-License-Identifier: {LICENSE_ID}")
            elif re.match(r"\s*license:\s*\S", line):
                ok = line.split(":", 1)[1].strip() == LICENSE_ID
            elif re.match(r"\s*license:\s*$", line):  # a YAML list follows (galaxy.yml)
                nxt = text[m.end():].lstrip("\n").splitlines()[0]
                ok = nxt.strip() == f"- {LICENSE_ID}"
            else:
                ok = False
            if not ok:
                disagree.append(f"{rel}: {line.strip()}")
    assert headers >= 20, headers  # the plugins carry headers; this scan must see them
    assert not disagree, "license statements that are not " + LICENSE_ID + ":\n" + "\n".join(disagree)


def test_python_headers_carry_the_spdx_tag_too():
    missing = []
    for path in tracked_files():
        if path.suffix == ".py" and path != Path(__file__) and GPL_HEADER in path.read_text():
            if f"# SPDX-License-Identifier: {LICENSE_ID}" not in path.read_text():
                missing.append(str(path.relative_to(REPO)))
    assert not missing


def test_metadata_is_real():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    for key in ("repository", "documentation", "homepage", "issues"):
        value = galaxy.get(key)
        assert value is None or not re.search(r"example\.(invalid|com|org)|placeholder|TODO", value), (key, value)
    # Only what content uses at run time: amazon.aws (AnsibleAWSModule, the provision role's modules).
    assert set(galaxy["dependencies"]) == {"amazon.aws"}
    used = set()
    for path in tracked_files():
        rel = path.relative_to(REPO)
        if rel.parts[0] in ("roles", "plugins", "playbooks", "meta") and path.suffix in (".yml", ".yaml", ".py", ".j2"):
            used |= set(re.findall(r"\b(amazon\.aws|community\.general|ansible\.posix|containers\.podman|community\.[a-z_]+)\.", path.read_text()))
    assert used == set(galaxy["dependencies"]), used


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("build")
    out = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-galaxy")), "collection", "build", "--output-path", str(out_dir), str(REPO)],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stderr
    (path,) = out_dir.glob("mocha-cloud-*.tar.gz")
    return path, out


def test_build_is_clean(artifact):
    _path, out = artifact
    assert out.stderr.strip() == "", out.stderr  # no warning of any kind
    assert out.stdout.strip().startswith("Created collection for mocha.cloud at "), out.stdout


def test_artifact_ships_what_an_installed_collection_needs_and_nothing_of_the_checkout(artifact):
    path, _out = artifact
    names = set(tarfile.open(path).getnames())
    for needed in ("MANIFEST.json", "FILES.json", "LICENSE", "README.md", "meta/runtime.yml", "meta/execution-environment.yml",
                   "meta/requirements.txt", "meta/bindep.txt", "changelogs/changelog.yaml", "changelogs/config.yaml",
                   "playbooks/site.yml", "playbooks/quota.yml", "plugins/vars/settings.py"):
        assert needed in names, needed
    assert any(n.startswith("roles/cifar10/") for n in names)
    for left_out in ("ansible.cfg", "inventory", "settings.yml", "site.yml", "scripts", "tests", "molecule", "benchmarks",
                     ".ci", ".config", ".venv", ".yamllint", ".ansible-lint", "pyproject.toml", "requirements.txt",
                     "requirements-dev.txt", "requirements.yml", "constraints.txt", "ee", "galaxy.yml"):
        assert not any(n == left_out or n.startswith(left_out + "/") for n in names), left_out
    assert not any(n.endswith((".pyc", ".tar.gz")) or "__pycache__" in n for n in names)


def test_execution_environment_dependencies_are_found_by_ansible_builder(artifact, tmp_path):
    """ansible-builder reads meta/execution-environment.yml of the installed collection (introspect), and the
    definition in ee/ makes a build context with the tarball (create; building needs base images from a registry)."""
    path, _out = artifact
    bindir = Path(sys.executable).parent
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg")}
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    out = subprocess.run([str(bindir / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-p",
                          str(tmp_path / "coll"), str(path)], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    out = subprocess.run([str(bindir / "ansible-builder"), "introspect", str(tmp_path / "coll")], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    deps = yaml.safe_load(out.stdout[out.stdout.index("---"):])
    python = {line.split(">=")[0] for line in deps["python"] if "from collection mocha.cloud" in line}
    system = {line.split(" [")[0] for line in deps["system"] if "from collection mocha.cloud" in line}
    assert python == {"boto3", "botocore", "matplotlib"} and system == {"openssh-clients", "openssh-client"}, deps

    ee = tmp_path / "ee"
    ee.mkdir()
    for name in ("execution-environment.yml", "requirements.yml"):
        (ee / name).write_text((REPO / "ee" / name).read_text())
    (ee / path.name).write_bytes(path.read_bytes())
    out = subprocess.run([str(bindir / "ansible-builder"), "create", "-f", str(ee / "execution-environment.yml"),
                          "-c", str(tmp_path / "context")], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "No matches" not in out.stdout + out.stderr
    containerfile = (tmp_path / "context" / "Containerfile").read_text()
    assert "--no-deps /build/collections/mocha-cloud-*.tar.gz -p /usr/share/ansible/collections" in containerfile
    assert "introspect.py introspect" in containerfile  # the builder stage collects every collection's dependencies
    assert (tmp_path / "context" / "_build" / "collections" / path.name).is_file()
