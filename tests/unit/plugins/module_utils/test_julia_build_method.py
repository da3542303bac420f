"""julia_build's choice of method (auto / source / binary) and the dead-URL srccache table (plugins/module_utils/julia_versions.py)."""

import hashlib

import pytest
import yaml
from ansible_collections.mocha.cloud.plugins.module_utils import julia_versions as jv
from conftest import REPO, load_source

# The role's data tables (files of the role, as the role loads them).
TABLES = REPO / "roles" / "julia_build" / "files" / "tables"
TABLE = yaml.safe_load((TABLES / "known_bad.yml").read_text())
SRCCACHE = yaml.safe_load((TABLES / "srccache.yml").read_text())
SUMS = yaml.safe_load((TABLES / "checksums.yml").read_text())

# The default instance (Deep Learning Base AMI, Ubuntu 24.04), the test container (Debian 12), an older host.
UBUNTU_2404 = {"distribution": "Ubuntu", "distribution_major_version": "24", "architecture": "x86_64",
               "gcc_version": "13.3.0", "gcc_source": "installed", "use_binarybuilder": True}
DEBIAN_12 = dict(UBUNTU_2404, distribution="Debian", distribution_major_version="12", gcc_version="12.2.0")
GCC9 = dict(UBUNTU_2404, distribution_major_version="20", gcc_version="9.4.0")
NO_GCC = dict(UBUNTU_2404, gcc_version="", gcc_source="")
APT_GCC12 = dict(DEBIAN_12, gcc_source="apt")


def select(requested, ctx, source="", binary="", action="fail", checked=True, table=TABLE):
    return jv.select_method(requested, table, ctx, source_version=source, binary_version=binary, action=action, checked=checked)


# --- the shipped table says what it proves -----------------------------------------------------------------------

def test_julia_06_with_gcc_11_and_newer_is_known_bad_from_source():
    for gcc in ("11.4.0", "12.2.0", "13.3.0"):
        ids = [e["id"] for e in jv.known_bad(TABLE, "0.6.4", dict(UBUNTU_2404, gcc_version=gcc))]
        assert ids == ["llvm-from-source-gcc11-limits"], gcc
    assert jv.known_bad(TABLE, "0.6.4", GCC9) == []


def test_the_06_entry_does_not_overclaim_its_evidence():
    entry = next(e for e in TABLE if e["id"] == "llvm-from-source-gcc11-limits")
    assert "3.9" in entry["reason"] and "NOT proven" in entry["reason"]
    assert "LLVM 9-11" in entry["reason"]
    assert "https://github.com/JuliaLang/julia/pull/39106" in entry["evidence"]
    assert "https://github.com/JuliaLang/julia/issues/49581" in entry["evidence"]


def test_gcc13_llvm13_entry_needs_a_source_built_llvm():
    ctx = dict(UBUNTU_2404, use_binarybuilder=False)
    assert [e["id"] for e in jv.known_bad(TABLE, "1.8.5", ctx)] == ["llvm13-source-build-gcc13-cstdint"]
    assert jv.known_bad(TABLE, "1.8.5", UBUNTU_2404) == []
    assert jv.known_bad(TABLE, "1.8.5", dict(ctx, gcc_version="12.3.0")) == []


def test_unknown_gcc_can_be_asked_what_could_match():
    assert jv.known_bad(TABLE, "0.6.4", NO_GCC) == []
    assert [e["id"] for e in jv.known_bad(TABLE, "0.6.4", NO_GCC, unknown_gcc="match")] == ["llvm-from-source-gcc11-limits"]
    # a distribution condition still has to hold
    assert jv.known_bad(TABLE, "1.10.0", NO_GCC, unknown_gcc="match") == [e for e in TABLE if e["id"] == "gcc15-llvm-headers"]


# --- auto --------------------------------------------------------------------------------------------------------

def test_auto_on_the_default_instance_installs_the_binary_without_asking_git():
    d = select("auto", UBUNTU_2404, binary="0.6.4")
    assert d["method"] == "binary" and d["version"] == "0.6.4"
    assert d["entry"] == "llvm-from-source-gcc11-limits"
    assert "GCC 13.3.0" in d["reason"] and "llvm-from-source-gcc11-limits" in d["reason"]
    assert not d["stop"]


def test_auto_on_debian_12_installs_the_binary():
    d = select("auto", DEBIAN_12, binary="0.6.4")
    assert (d["method"], d["entry"]) == ("binary", "llvm-from-source-gcc11-limits")
    assert "GCC 12.2.0 on Debian 12" in d["reason"]


def test_auto_builds_from_source_where_no_entry_matches():
    first = select("auto", GCC9, binary="0.6.4")
    assert first["method"] == ""  # needs the version the tags resolve to
    d = select("auto", GCC9, source="0.6.4", binary="0.6.4")
    assert d["method"] == "source" and d["version"] == "0.6.4"
    assert "no known-bad entry matches" in d["reason"] and "GCC 9.4.0" in d["reason"]
    d = select("auto", DEBIAN_12, source="1.10.10", binary="1.10.10")
    assert d["method"] == "source" and not d["matches"]


def test_auto_uses_the_gcc_the_package_manager_would_install():
    d = select("auto", APT_GCC12, binary="0.6.4")
    assert d["method"] == "binary"
    assert "the gcc package apt would install" in d["reason"]
    d = select("auto", APT_GCC12, source="1.10.10", binary="1.10.10")
    assert d["method"] == "source"


def test_auto_without_any_compiler_prefers_the_binary_when_an_entry_constrains_gcc():
    d = select("auto", NO_GCC, binary="0.6.4")
    assert d["method"] == "binary" and d["entry"] == "llvm-from-source-gcc11-limits"
    assert "no GCC on the host yet" in d["reason"]
    # no binary known: a source build, checked again once a compiler is installed
    d = select("auto", NO_GCC, source="0.6.4")
    assert d["method"] == "source" and not d["stop"]
    assert "checked again" in d["reason"]


def test_auto_without_a_binary_checksum_can_only_build_from_source():
    d = select("auto", DEBIAN_12, source="0.6.3")
    assert d["method"] == "source" and d["stop"]
    assert "julia_build_binary_checksums" in d["message"]
    assert select("auto", DEBIAN_12, source="0.6.3", action="warn")["stop"] is False


def test_auto_falls_back_to_the_binary_when_the_source_version_is_known_bad():
    d = select("auto", dict(DEBIAN_12, gcc_version="15.1.0"), source="1.11.2", binary="1.10.10")
    assert d["method"] == "binary" and d["version"] == "1.10.10" and d["entry"] == "gcc15-llvm-headers"


def test_auto_with_the_table_off_builds_from_source():
    d = select("auto", DEBIAN_12, binary="0.6.4", checked=False)
    assert d["method"] == ""
    d = select("auto", DEBIAN_12, source="0.6.4", binary="0.6.4", checked=False)
    assert d["method"] == "source" and "julia_build_check_known_bad is false" in d["reason"]


# --- source and binary -------------------------------------------------------------------------------------------

def test_source_with_a_match_stops_naming_the_entry_and_the_ways_out():
    d = select("source", DEBIAN_12, source="0.6.4", binary="0.6.4")
    assert d["method"] == "source" and d["stop"]
    msg = d["message"]
    assert "llvm-from-source-gcc11-limits" in msg and "GCC 12.2.0" in msg
    assert "before anything was cloned or installed" in msg
    assert "julia_build_method: binary" in msg and "auto" in msg and "julia_build_known_bad_action: warn" in msg
    assert "https://github.com/JuliaLang/julia/pull/39106" in msg


def test_source_with_a_match_and_action_warn_goes_ahead_with_a_warning():
    d = select("source", DEBIAN_12, source="0.6.4", binary="0.6.4", action="warn")
    assert d["method"] == "source" and not d["stop"]
    assert d["message"].startswith("WARNING julia_build:") and "llvm-from-source-gcc11-limits" in d["message"]
    assert "julia_build_known_bad_action: warn to build" not in d["message"]


def test_source_without_a_match_builds():
    d = select("source", GCC9, source="0.6.4", binary="0.6.4")
    assert d["method"] == "source" and not d["stop"] and d["message"] == ""
    assert select("source", DEBIAN_12, source="1.10.10")["stop"] is False


def test_binary_is_binary():
    d = select("binary", DEBIAN_12, binary="0.6.4")
    assert d["method"] == "binary" and d["reason"] == "julia_build_method is binary"


@pytest.mark.parametrize("bad", [{"requested": "sauce"}, {"action": "ignore"}])
def test_bad_inputs_are_refused(bad):
    with pytest.raises(ValueError):
        jv.select_method(bad.get("requested", "auto"), TABLE, DEBIAN_12, action=bad.get("action", "fail"))


@pytest.mark.parametrize("text, version", [("4:12.2.0-3", "12.2.0"), ("4:13.2.0-7ubuntu1", "13.2.0"), ("11.5.0", "11.5.0"),
                                           ("(none)", ""), ("", ""), ("4:11.2.0-1ubuntu1", "11.2.0")])
def test_gcc_version_from_package_version(text, version):
    assert jv.gcc_from_package_version(text) == version


# --- srccache: dependency files whose upstream URL is dead ---------------------------------------------------------

def test_pcre2_1023_is_pre_seeded_for_julia_06_only():
    entries = jv.srccache(SRCCACHE, "0.6.4")["entries"]
    assert [e["file"] for e in entries] == ["pcre2-10.23.tar.bz2"]
    e = entries[0]
    assert e["dead_url"] == "https://ftp.pcre.org/pub/pcre/pcre2-10.23.tar.bz2"
    assert e["sha256"] == "dfc79b918771f02d33968bd34a749ad7487fa1014aeb787fad29dd392b78c56e"
    assert e["sha512"].startswith("3e5910bd2405cc35934d91e4be760abe") and len(e["sha512"]) == 128
    assert any("sourceforge.net" in m for m in e["mirrors"]) and any("mirrorservice.org" in m for m in e["mirrors"])
    assert "https://github.com/JuliaLang/julia/issues/43878" in e["evidence"]
    for version in ("0.5.2", "0.7.0", "1.0.5", "1.10.10"):
        assert jv.srccache(SRCCACHE, version)["entries"] == [], version


def test_extra_entries_replace_shipped_ones_by_file_name():
    payload = b"FAKE"
    mine = {"file": "pcre2-10.23.tar.bz2", "versions": {"min": "0.6.0", "max": "0.7.0"}, "mirrors": ["http://127.0.0.1:1/p"],
            "sha256": hashlib.sha256(payload).hexdigest()}
    res = jv.srccache(SRCCACHE, "0.6.4", [mine])
    assert res["errors"] == []
    assert res["entries"][0]["mirrors"] == ["http://127.0.0.1:1/p"] and res["entries"][0]["sha512"] == ""
    other = dict(mine, file="zlib-1.2.11.tar.gz", versions={"min": "1.0.0"})
    assert [e["file"] for e in jv.srccache(SRCCACHE, "1.0.5", [other])["entries"]] == ["zlib-1.2.11.tar.gz"]


@pytest.mark.parametrize("entry, problem", [
    ({"file": "a.tgz", "mirrors": [], "sha256": "0" * 64}, "mirrors"),
    ({"file": "a.tgz", "mirrors": ["http://x/a"], "sha256": "abc"}, "sha256"),
    ({"file": "a.tgz", "mirrors": ["http://x/a"], "sha256": "0" * 64, "sha512": "12"}, "sha512"),
    ({"file": "../a.tgz", "mirrors": ["http://x/a"], "sha256": "0" * 64}, "plain file name"),
    ({"mirrors": ["http://x/a"]}, "file name"),
])
def test_bad_srccache_entries_are_explained(entry, problem):
    errors = jv.srccache(SRCCACHE, "0.6.4", [entry])["errors"]
    assert len(errors) == 1 and problem in errors[0] and "julia_build_srccache_extra" in errors[0]


def test_fake_upstream_payload_is_not_the_real_file():
    """The fake tree's sha512 is the FAKE payload's: a real-checksum entry cannot pass the fake, and vice versa."""
    mod = load_source(REPO / "tests" / "fixtures" / "make_julia_upstream.py")
    info = mod.srccache_info()
    assert info["sha512"] != jv.srccache(SRCCACHE, "0.6.4")["entries"][0]["sha512"]
    assert info["sha256"] == hashlib.sha256(mod.fake_pcre2_tarball()).hexdigest()


def test_shipped_binary_checksum_for_064_is_the_published_one():
    assert SUMS["0.6.4"]["x86_64"] == "d20e6984bcf8c3692d853a9922e2cf1de19b91201cb9e396d9264c32cebedc46"
