"""Every package manager call of the roles waits for the package manager's lock.

A fresh Ubuntu's first boot runs apt-daily and unattended-upgrades, which hold the dpkg lock for minutes; apt's own
wait (the apt module's lock_timeout) is 60 s. So each apt, package or dnf task either goes through the one shared
place (mocha.cloud.common, entry point packages) or says lock_timeout itself, and the wait is at least 300 s. The
offline pipeline's instance holds the lock after it starts as a first boot does (tests/fakes/first_boot.py).
"""

import re

import pytest
import yaml
from ansible_collections.mocha.cloud.plugins.module_utils.cuda_matrix import headers_metapackages
from conftest import REPO

PACKAGE_MODULES = {"ansible.builtin.apt", "ansible.builtin.package", "ansible.builtin.dnf", "ansible.builtin.dnf5",
                   "ansible.builtin.yum", "apt", "package", "dnf", "yum"}
MIN_WAIT = 300


def tasks_of(items):
    for task in items or []:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ("block", "rescue", "always"):
            yield from tasks_of(task.get(key))


def package_tasks():
    for path in sorted(REPO.glob("roles/*/tasks/*.yml")):
        for task in tasks_of(yaml.safe_load(path.read_text())):
            module = next((k for k in task if k in PACKAGE_MODULES), None)
            if module:
                yield path, task, module


def defaults_of(role):
    return yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()) or {}


def wait_of(path, value):
    """The lock_timeout a task gives, with a {{ variable }} read from its role's defaults."""
    m = re.fullmatch(r"\{\{\s*([a-z_]+)(?:\s+if\s.*)?\s*\}\}", str(value).strip())
    if m:
        return int(defaults_of(path.parts[-3])[m.group(1)])
    return int(value)


def test_there_are_package_tasks_to_check():
    found = {(p.parts[-3], t.get("name")) for p, t, _ in package_tasks()}
    assert ("common", "Packages | Install with apt") in found and len(found) >= 8, found


@pytest.mark.parametrize("path, task, module", list(package_tasks()),
                         ids=lambda x: x.get("name") if isinstance(x, dict) else str(x).rsplit("/", 1)[-1])
def test_every_package_task_waits_for_the_lock(path, task, module):
    args = task[module]
    assert isinstance(args, dict) and "lock_timeout" in args, f"{path}: {task.get('name')} does not wait for the lock"
    assert wait_of(path, args["lock_timeout"]) >= MIN_WAIT, f"{path}: {task.get('name')} waits less than {MIN_WAIT} s"


def test_the_shared_place_waits_longer_than_a_first_boot_holds_the_lock():
    assert defaults_of("common")["common_packages_lock_timeout"] >= MIN_WAIT
    assert defaults_of("cuda")["cuda_package_lock_timeout"] >= MIN_WAIT


@pytest.mark.parametrize("listing, want", [
    # Ubuntu on EC2: the aws kernel metapackage and a versioned image
    (["linux-image-aws installed", "linux-image-6.8.0-1015-aws installed"], ["linux-headers-aws"]),
    # Ubuntu 22.04 with the HWE kernel stream: its own headers metapackage, not the GA one
    (["linux-image-generic-hwe-22.04 installed", "linux-image-6.8.0-45-generic installed"],
     ["linux-headers-generic-hwe-22.04"]),
    (["linux-image-virtual installed", "linux-image-extra-virtual installed", "linux-image-unsigned-6.8.0-45-generic installed"],
     ["linux-headers-virtual"]),
    # Debian 12 cloud image
    (["linux-image-cloud-amd64 installed", "linux-image-6.1.0-18-cloud-amd64 installed"], ["linux-headers-cloud-amd64"]),
    # removed but its configuration kept, and a container with no kernel at all
    (["linux-image-aws config-files"], []),
    ([], []),
])
def test_headers_metapackages_follow_the_kernel_metapackages(listing, want):
    assert headers_metapackages(listing) == want
