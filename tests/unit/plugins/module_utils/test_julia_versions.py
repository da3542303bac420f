"""Tag selection for the julia_build role (plugins/module_utils/julia_versions.py)."""

import random

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import julia_versions as jv
from conftest import REPO

TAGS = (
    ["v0.6.4", "v0.7.0", "v1.9.4"]
    + [f"v1.10.{i}" for i in range(11)]
    + ["v1.11.0-alpha1", "v1.11.0-beta2", "v1.11.0-rc1", "v1.11.0", "v1.11.1", "v1.11.2", "v1.12.0-DEV", "v1.12.0-rc1"]
)

# Real shape of `git ls-remote --tags https://github.com/JuliaLang/julia` (annotated tags are followed by a
# peeled ^{} line; hashes shortened to 40 hex digits of our own).
LS_REMOTE = """\
1111111111111111111111111111111111111111\trefs/tags/v1.10.9
aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\trefs/tags/v1.10.9^{}
2222222222222222222222222222222222222222\trefs/tags/v1.10.10
bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\trefs/tags/v1.10.10^{}
3333333333333333333333333333333333333333\trefs/tags/v1.11.0-rc1
4444444444444444444444444444444444444444\trefs/tags/v1.12.0-DEV
5555555555555555555555555555555555555555\trefs/tags/backup-2016
6666666666666666666666666666666666666666\trefs/tags/v0.6.4
cccccccccccccccccccccccccccccccccccccccc\trefs/tags/v0.6.4^{}
"""


def shuffled(tags, seed=7):
    out = list(tags)
    random.Random(seed).shuffle(out)
    return out


@pytest.mark.parametrize(
    "request_, tag",
    [
        ("latest", "v1.11.2"),
        ("LATEST", "v1.11.2"),
        ("stable", "v1.11.2"),
        ("1.10", "v1.10.10"),  # version order, not text order: 10 > 9
        ("v1.10", "v1.10.10"),
        ("1.11", "v1.11.2"),
        ("1.9", "v1.9.4"),
        ("0.6", "v0.6.4"),
        ("1.10.5", "v1.10.5"),
        ("v1.10.5", "v1.10.5"),
        ("1.10.0", "v1.10.0"),
        ("1.10.10", "v1.10.10"),
        ("1.11.0", "v1.11.0"),
        ("1.11.0-rc1", "v1.11.0-rc1"),  # a pre-release only when named exactly
        ("v1.11.0-beta2", "v1.11.0-beta2"),
        (" 1.10 ", "v1.10.10"),
    ],
)
def test_resolve_picks_the_right_tag(request_, tag):
    res = jv.resolve_version(shuffled(TAGS), request_)
    assert res["found"] is True, res
    assert res["tag"] == tag
    assert res["version"] == tag[1:]


def test_latest_never_picks_prereleases():
    tags = ["v1.11.2", "v1.12.0-DEV", "v1.12.0-alpha1", "v1.12.0-beta2", "v1.12.0-rc1", "v2.0.0-rc1"]
    assert jv.resolve_version(tags, "latest")["tag"] == "v1.11.2"


def test_series_ignores_prereleases_of_the_series():
    tags = ["v1.11.0-alpha1", "v1.11.0-rc1", "v1.10.3"]
    res = jv.resolve_version(tags, "1.11")
    assert res["found"] is False
    assert res["nearest"] == ["v1.10.3"]


def test_order_is_by_version_not_text():
    assert jv.sort_tags(["v1.10.10", "v1.10.9", "v1.9.4", "v1.10.2", "v0.6.4"]) == ["v0.6.4", "v1.9.4", "v1.10.2", "v1.10.9", "v1.10.10"]


def test_prerelease_order_dev_alpha_beta_rc_final():
    tags = ["v1.11.0", "v1.11.0-rc2", "v1.11.0-rc10", "v1.11.0-beta2", "v1.11.0-alpha1", "v1.11.0-DEV", "v1.11.0-rc1"]
    assert jv.sort_tags(shuffled(tags)) == [
        "v1.11.0-DEV", "v1.11.0-alpha1", "v1.11.0-beta2", "v1.11.0-rc1", "v1.11.0-rc2", "v1.11.0-rc10", "v1.11.0",
    ]


def test_stable_tags_only_vxyz():
    assert jv.stable_tags(["v1.10.0", "v1.11.0-rc1", "v1.12.0-DEV", "backup", "1.9.0", "v1.9"]) == ["v1.10.0"]


def test_parse_ls_remote_prefers_peeled_commit():
    tags = {t["tag"]: t["commit"] for t in jv.parse_ls_remote(LS_REMOTE)}
    assert tags["v1.10.10"] == "b" * 40
    assert tags["v0.6.4"] == "c" * 40
    assert tags["v1.11.0-rc1"] == "3" * 40  # lightweight tag: no ^{} line
    assert "backup-2016" in tags


def test_resolve_from_ls_remote_text_returns_commit():
    res = jv.resolve_version(LS_REMOTE, "1.10")
    assert (res["tag"], res["commit"]) == ("v1.10.10", "b" * 40)
    assert jv.resolve_version(LS_REMOTE, "latest")["tag"] == "v1.10.10"


@pytest.mark.parametrize(
    "request_, nearest",
    [
        ("1.10.11", ["v1.10.10", "v1.10.9", "v1.10.8", "v1.10.7", "v1.10.6"]),
        ("1.9.2", ["v1.9.4", "v0.7.0", "v0.6.4", "v1.10.0", "v1.10.1"]),
        ("1.10.42", ["v1.10.10", "v1.10.9", "v1.10.8", "v1.10.7", "v1.10.6"]),
        ("1.13", ["v1.11.2", "v1.11.1", "v1.11.0", "v1.10.10", "v1.10.9"]),
        ("1.12", ["v1.11.2", "v1.11.1", "v1.11.0", "v1.10.10", "v1.10.9"]),  # only DEV/rc tags exist for 1.12
        ("0.5.2", ["v0.6.4", "v0.7.0", "v1.9.4", "v1.10.0", "v1.10.1"]),
        ("1.10", ["v1.10.10"]),  # found: not an error (checked separately below)
        ("2.0", ["v1.11.2", "v1.11.1", "v1.11.0", "v1.10.10", "v1.10.9"]),
    ],
)
def test_unknown_version_lists_nearest_stable_tags(request_, nearest):
    if request_ == "1.10":
        assert jv.nearest_tags(TAGS, request_)[0] == nearest[0]
        return
    res = jv.resolve_version(TAGS, request_)
    assert res["found"] is False
    got = res["nearest"]
    assert got == nearest
    assert all("-" not in t for t in got), got
    assert request_ in res["error"] and ", ".join(got) in res["error"]
    assert "julia_build_version" in res["error"]


def test_exact_prerelease_that_does_not_exist():
    res = jv.resolve_version(TAGS, "1.11.0-rc9")
    assert res["found"] is False
    assert "v1.11.0-rc9" in res["error"]


@pytest.mark.parametrize("bad", ["foo", "1", "1.10.x", "v", "", "1.10.5.1", "latest-ish", "=1.10"])
def test_invalid_requests_are_explained(bad):
    res = jv.resolve_version(TAGS, bad)
    assert res["found"] is False
    assert res["kind"] == "invalid"
    assert "latest" in res["error"] and "1.10.5" in res["error"]


def test_float_request_is_refused_with_quoting_hint():
    res = jv.resolve_version(TAGS, 1.1)
    assert res["found"] is False
    assert "Quote" in res["error"]


def test_series_lost_trailing_zero_gets_hint():
    res = jv.resolve_version(TAGS, "1.1")
    assert res["found"] is False
    assert "1.10" in res["error"] and "Quote" in res["error"]


def test_no_version_tags_at_all():
    res = jv.resolve_version(["backup", "nightly"], "latest")
    assert res["found"] is False
    assert "julia_build_repo_url" in res["error"]


def test_empty_input():
    assert jv.resolve_version("", "latest")["found"] is False
    assert jv.parse_ls_remote(None) == []


def test_dict_input_tag_to_commit():
    res = jv.resolve_version({"v1.10.9": "a" * 40, "v1.10.10": "b" * 40}, "1.10")
    assert (res["tag"], res["commit"]) == ("v1.10.10", "b" * 40)


# --- known-bad table ---------------------------------------------------------------------------------------------

def _table():
    import yaml

    return yaml.safe_load((REPO / "roles" / "julia_build" / "files" / "tables" / "known_bad.yml").read_text())


@pytest.mark.parametrize(
    "version, ctx, ids",
    [
        ("0.6.4", {"distribution": "Debian", "distribution_major_version": "12", "gcc_version": "12.2.0"}, ["llvm-from-source-gcc11-limits"]),
        ("0.6.4", {"distribution": "Debian", "distribution_major_version": "10", "gcc_version": "8.3.0"}, []),
        ("0.6.4", {"distribution": "Debian", "gcc_version": ""}, []),  # unknown GCC never matches a GCC rule
        ("1.5.4", {"gcc_version": "13.3.0", "use_binarybuilder": True}, []),
        ("1.5.4", {"gcc_version": "13.3.0", "use_binarybuilder": False}, ["llvm-source-build-gcc11-limits"]),
        ("1.10.10", {"gcc_version": "15.1.1"}, ["gcc15-llvm-headers"]),
        ("1.10.10", {"gcc_version": "14.2.0"}, []),
        ("1.12.0", {"gcc_version": "15.1.1"}, []),
        ("1.10.0", {"distribution": "CentOS", "distribution_major_version": "7", "gcc_version": "4.8.5"}, ["centos7-old-toolchain"]),
        ("1.10.0", {"distribution": "CentOS", "distribution_major_version": "8", "gcc_version": "8.5.0"}, []),
    ],
)
def test_known_bad_table(version, ctx, ids):
    assert [e["id"] for e in jv.known_bad(_table(), version, ctx)] == ids


def test_known_bad_entries_cite_evidence():
    for entry in _table():
        assert isinstance(entry["evidence"], list) and entry["evidence"], entry["id"]
        assert all(e.startswith("https://github.com/JuliaLang/julia/") for e in entry["evidence"]), entry["id"]
        assert len(entry["reason"]) > 40


@pytest.mark.parametrize(("request_", "problem"), [
    ("latest", ""), ("0.6", ""), ("v0.6.4", ""), ("1.11.0-rc1", ""),
    ("0.6.x", "julia_build_version '0.6.x' is not a version: use latest"),
    (1.1, "julia_build_version is the number 1.1, not a string"),
    (None, "no Julia version requested"),
])
def test_request_problem_is_parse_requests_rule(request_, problem):
    """site.yml's settings play checks julia_build_version with the role's own rule (julia_version_problem)."""
    found = jv.request_problem(request_)
    assert found.startswith(problem) and (found == "") == (problem == "")
