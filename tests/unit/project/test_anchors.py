"""Validation patterns end at the end of the text (\\Z or fullmatch), never at '$', which also matches before a
trailing newline: a value "x\\n" must not pass a check meant for "x". (A role's check run by ansible-playbook:
tests/integration/test_cifar10_preflight.py.)"""

import re

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu, aws_guard, julia_pkg, julia_versions
from conftest import REPO

# A match/regex/search test or select() whose pattern ends in '$'.
DOLLAR_ANCHORED = re.compile(r"""(?:\bmatch|\bregex|\bsearch)['"]?\s*[(,]\s*['"][^'"\n]*\$['"]""")


def yaml_files():
    for pattern in ("roles/*/tasks/*.yml", "roles/*/defaults/*.yml", "roles/*/meta/argument_specs.yml", "playbooks/*.yml",
                    "inventory/*.yml", "site.yml"):
        yield from sorted(REPO.glob(pattern))


def test_no_dollar_anchored_validation_in_yaml():
    found = []
    for path in yaml_files():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if DOLLAR_ANCHORED.search(line):
                found.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
        text = path.read_text()
        for name in ("mocha_upstream_url_regex",):
            m = re.search(rf"^{name}: '(.*)'$", text, re.M)
            if m and m.group(1).endswith("$"):
                found.append(f"{path.relative_to(REPO)}: {name} ends in $")
    assert not found, "\n".join(found)


def test_the_scan_finds_what_it_looks_for():
    assert DOLLAR_ANCHORED.search("x is match('^[a-z]+$')")
    assert DOLLAR_ANCHORED.search("keys() | select('match', '^[A-Z]$') | list")
    assert not DOLLAR_ANCHORED.search("x is match('\\\\A[a-z]+\\\\Z')")


@pytest.mark.parametrize("check,value", [
    (julia_pkg.validate_name, "Mocha\n"), (julia_pkg.normalize_version, "0.3.1\n"), (julia_pkg.validate_rev, "master\n"),
    (julia_pkg.validate_url, "https://github.com/pluskid/Mocha.jl.git\n"),
])
def test_python_validators_refuse_a_trailing_newline(check, value):
    check(value.rstrip("\n"))
    with pytest.raises(julia_pkg.JuliaPkgError):
        check(value)


def test_other_python_patterns_refuse_a_trailing_newline():
    assert julia_versions.TAG_RE.match("v0.6.4") and not julia_versions.TAG_RE.match("v0.6.4\n")
    assert julia_versions.REQUEST_RE.match("0.6") and not julia_versions.REQUEST_RE.match("0.6\n")
    assert aws_gpu._TYPE_RE.match("g4dn.xlarge") and not aws_gpu._TYPE_RE.match("g4dn.xlarge\n")
    assert aws_guard.fullmatch(aws_guard.NAME_RE, "exp1") and not aws_guard.fullmatch(aws_guard.NAME_RE, "exp1\n")
