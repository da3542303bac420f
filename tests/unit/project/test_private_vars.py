"""A role's private variables (``__<role>_*``) are read and set by that role only.

Playbooks, the inventory, molecule scenarios, tests and the other roles drive a role through its inputs and read what it
publishes (documented facts under the role's prefix, ``aws_gpu_instance_caller``, ``mocha_backend_selected``), never
its ``__<role>_`` variables: those are free to change with the role. ALLOWED (empty) would list a use still left
outside its role with its count; it may only shrink."""

import re
from pathlib import Path

from conftest import REPO

ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir())
SCANNED = ("playbooks", "inventory", "molecule", "tests", "roles", "plugins", "site.yml")
SUFFIXES = {".yml", ".yaml", ".py", ".j2", ".cfg", ".sh", ".md", ".json", ".ini", ".toml"}
# (file, variable): uses outside the role that owns the variable, allowed with their count. None today: keep it so.
ALLOWED = {}
PRIVATE = re.compile(r"(?<![A-Za-z0-9_])__(" + "|".join(sorted(ROLES, key=len, reverse=True)) + r")_[a-z0-9_]+")


def owner(match):
    """The role a private name belongs to: the longest role name it starts with (mocha_cloud is no role)."""
    return match.group(1)


def uses_outside_their_role():
    found = {}
    this = Path(__file__).resolve()
    for top in SCANNED:
        base = REPO / top
        paths = [base] if base.is_file() else base.rglob("*")
        for path in paths:
            if not path.is_file() or path.suffix not in SUFFIXES or path.resolve() == this or "fixtures" in path.parts:
                continue
            rel = path.relative_to(REPO).as_posix()
            for match in PRIVATE.finditer(path.read_text(errors="replace")):
                if rel.startswith(f"roles/{owner(match)}/"):
                    continue
                key = (rel, match.group(0))
                found[key] = found.get(key, 0) + 1
    return found


def test_the_scan_sees_a_private_variable_outside_its_role(tmp_path):
    """The pattern itself: a private name of a role is seen, a longer public name or another prefix is not."""
    text = "x: '{{ __cuda_apt_source }}' y: '{{ cuda_apt }}' z: '{{ a__mocha_b }}' w: '{{ __mocha_cloud_x }}'"
    assert [m.group(0) for m in PRIVATE.finditer(text)] == ["__cuda_apt_source", "__mocha_cloud_x"]
    assert set(ROLES) >= {"aws_gpu_instance", "cifar10", "common", "cuda", "hdf5", "julia_build", "mocha"}


def test_private_variables_stay_in_their_role():
    found = uses_outside_their_role()
    new = {key: n for key, n in found.items() if n > ALLOWED.get(key, 0)}
    assert not new, (f"a role's __<role>_ variables used outside it: {new}; publish what others need as a documented "
                     "fact under the role's prefix, or drive the role through its inputs")
    gone = {key: (n, found.get(key, 0)) for key, n in ALLOWED.items() if found.get(key, 0) < n}
    assert not gone, f"these uses are fewer now: lower or remove their entry in ALLOWED: {gone}"
