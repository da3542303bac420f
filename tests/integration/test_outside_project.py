"""The collection as another project uses it: the built tarball, installed into an empty project, runs the README's
example play (check mode, against localhost) and the collection's own playbooks by name, with nothing of this checkout
on the way (no ansible.cfg, no .venv/collections link, no settings.yml of the checkout).

The stand-ins: localhost plays the GPU box (it has no GPU: the cuda role takes its no-GPU path), and AWS is out of
reach (no credentials, proxies to a closed port), so the price comes from the collection's dated table.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEAD = "http://127.0.0.1:9"


def readme_blocks():
    """The fenced blocks of the README section "Use the collection in your own project", by language."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Use the collection in your own project", 1)[1].split("\n## ", 1)[0]
    blocks = {}
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", section, re.S):
        blocks.setdefault(lang, []).append(body)
    return blocks


def clean_env(project):
    """No ANSIBLE_* or AWS_* from the caller (scripts/test exports the checkout's ANSIBLE_CONFIG), no credentials,
    no way out to AWS."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANSIBLE_", "AWS_", "BOTO_", "MOCHA_CLOUD_")) and k.lower() not in ("http_proxy", "https_proxy")}
    empty = project / ".aws-empty"
    empty.write_text("")
    env.update(
        PATH=f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}",
        ANSIBLE_CONFIG=str(project / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(project / ".ansible-tmp"),
        ANSIBLE_HOME=str(project / ".ansible-home"),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_CONFIG_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
        HTTP_PROXY=DEAD, HTTPS_PROXY=DEAD, http_proxy=DEAD, https_proxy=DEAD,
        NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
    )
    return env


def run(argv, project, env, timeout=600):
    return subprocess.run(argv, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    build = tmp_path_factory.mktemp("build")
    (build / "ansible.cfg").write_text("[defaults]\n")
    env = clean_env(build)
    out = run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(build), str(REPO)], build, env)
    assert out.returncode == 0, out.stdout
    (tarball,) = build.glob("mocha-cloud-*.tar.gz")

    proj = tmp_path_factory.mktemp("my-project")
    blocks = readme_blocks()
    cfg = next(b for b in blocks["ini"] if "collections_path" in b)
    (proj / "ansible.cfg").write_text(cfg)
    env = clean_env(proj)
    # Offline: amazon.aws, the one dependency, is already there (the ansible package on the controller).
    out = run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", "collections", str(tarball)], proj, env)
    assert out.returncode == 0, out.stdout
    installed = proj / "collections" / "ansible_collections" / "mocha" / "cloud"
    assert (installed / "MANIFEST.json").is_file() and not installed.is_symlink()
    assert not (installed / "ansible.cfg").exists() and not (installed / "settings.yml").exists()

    (proj / "gpu.yml").write_text(next(b for b in blocks["yaml"] if "mocha.cloud." in b))
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    if os.geteuid() == 0:
        host["ansible_become_method"] = "su"  # root needs no password, and this machine may have no sudo
    else:
        host["ansible_become"] = False
    (proj / "inventory.yml").write_text(yaml.safe_dump({"gpu_hosts": {"hosts": {"localhost": host}}}))
    return proj, installed


def test_the_installed_collection_is_the_one_used(project):
    proj, installed = project
    out = run([str(BIN / "ansible-galaxy"), "collection", "list", "mocha.cloud", "--format", "json"], proj, clean_env(proj))
    assert out.returncode == 0, out.stdout
    paths = list(yaml.safe_load(out.stdout[out.stdout.index("{"):]))
    assert paths == [str(installed.parents[1])], paths  # the project's collections, nothing of the checkout


def test_readme_example_play_runs_in_check_mode(project):
    proj, _installed = project
    out = run([str(BIN / "ansible-playbook"), "-i", "inventory.yml", "gpu.yml", "--check"], proj, clean_env(proj))
    flat = " ".join(out.stdout.split())
    assert out.returncode == 0, out.stdout[-6000:]
    assert re.search(r"localhost\s*: ok=\d+ changed=\d+ unreachable=0 failed=0", flat), flat[-3000:]
    assert re.search(r"\d+ CPUs, \d+ build jobs; GPUs: none", flat), flat[-3000:]  # lscpu_facts and the cuda role's facts
    assert "g4dn.xlarge in us-east-1: 0.5260 USD/h (list price table of" in flat, flat[-3000:]
    assert "list price: 0.526 USD/h" in flat


def test_collection_playbooks_run_by_name_with_the_projects_settings(project):
    proj, _installed = project
    (proj / "settings.yml").write_text("aws_gpu_instance_region: eu-west-1\naws_gpu_instance_type: g5.xlarge\n"
                                       "aws_gpu_instance_count: 2\naws_gpu_instance_max_hours: 3\n")
    try:
        out = run([str(BIN / "ansible-playbook"), "mocha.cloud.quota"], proj, clean_env(proj))
    finally:
        (proj / "settings.yml").unlink()
    flat = " ".join(out.stdout.split())
    assert out.returncode == 0, out.stdout[-6000:]
    assert "quota was NOT read" in flat, flat[-3000:]
    assert "2 x g5.xlarge needs 8 vCPUs" in flat and "L-DB2E81BA" in flat and "L-3819A6DF" in flat, flat[-3000:]
    assert "--desired-value 8 --region eu-west-1" in flat
    assert "g5.xlarge in eu-west-1: 1.0060 USD/h" in flat and "2 x 3 h = about 6.04 USD" in flat, flat[-3000:]


def test_the_play_fails_when_the_collection_lacks_what_it_needs(project, tmp_path):
    """The check above can fail: the same project with one file of the collection missing does not pass."""
    proj, installed = project
    broken = tmp_path / "broken"
    shutil.copytree(proj, broken, symlinks=True)
    (broken / "collections" / "ansible_collections" / "mocha" / "cloud" / "plugins" / "filter" / "aws_gpu.py").unlink()
    out = run([str(BIN / "ansible-playbook"), "-i", "inventory.yml", "gpu.yml", "--check"], broken, clean_env(broken))
    assert out.returncode != 0
    assert "aws_gpu_list_price" in out.stdout, out.stdout[-3000:]
