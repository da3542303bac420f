"""module_utils.julia_pkg: validation, the one escaping function, code builders, protocol parsing."""

import json

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import julia_pkg as jp
from conftest import REPO, load_source

FAKE = load_source(REPO / "tests" / "fakes" / "julia" / "julia", "fake_julia")


# ---------------------------------------------------------------------------------------------
# julia_str: the only way user text enters Julia code
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value,literal",
    [
        ("Mocha", '"Mocha"'),
        ("", '""'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ("$(run(`rm -rf /`))", '"\\$(run(`rm -rf /`))"'),
        ("x\ny\tz\r", '"x\\ny\\tz\\r"'),
        ("\x00\x1b", '"\\U00000000\\U0000001b"'),
        ("caf\u00e9 \U0001f600", '"caf\\U000000e9 \\U0001f600"'),
        ('"); run(`id`); ("', '"\\"); run(`id`); (\\""'),
    ],
)
def test_julia_str_escapes(value, literal):
    assert jp.julia_str(value) == literal


@pytest.mark.parametrize(
    "value",
    ["plain", 'quote"d', "back\\slash", "$interp", "$(x)", "new\nline", "\U0001f600 emoji", "\x7f\x01", "a\\$b\\\"c"],
)
def test_julia_str_round_trips_through_a_julia_string_reader(value):
    lit = jp.julia_str(value)
    assert all(0x20 <= ord(c) < 0x7F for c in lit)  # pure printable ASCII
    assert FAKE.Parser(lit).string() == value


def test_julia_str_refuses_non_strings():
    with pytest.raises(jp.JuliaPkgError):
        jp.julia_str(3)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["Mocha", "HDF5", "JLD", "CUDArt", "My_Pkg2"])
def test_valid_names(name):
    assert jp.validate_name(name) == name


@pytest.mark.parametrize("name", ["", "Mocha.jl", "1Pkg", "Mo cha", 'Mocha")', "Mocha;rm", "$x", "a" * 101, None])
def test_invalid_names_are_refused_with_a_hint(name):
    with pytest.raises(jp.JuliaPkgError, match="invalid Julia package name"):
        jp.validate_name(name)


@pytest.mark.parametrize("version,norm", [("0.3.1", "0.3.1"), ("v0.3.1", "0.3.1"), ("1.2.3-rc1", "1.2.3-rc1"),
                                          ("1.0.0+build.5", "1.0.0+build.5")])
def test_versions(version, norm):
    assert jp.normalize_version(version) == norm


@pytest.mark.parametrize("version", ["0.3", "latest", "v0.3.1\"", "0.3.1; rm", "", "1.2.3.4"])
def test_bad_versions(version):
    with pytest.raises(jp.JuliaPkgError, match="invalid version"):
        jp.normalize_version(version)


def test_next_patch():
    assert jp.next_patch("0.3.1") == "0.3.2"
    assert jp.next_patch("v1.9.9") == "1.9.10"


@pytest.mark.parametrize("url", ["https://github.com/pluskid/Mocha.jl.git", "file:///srv/Mocha.jl.git",
                                 "/srv/git/Mocha.jl", "git@github.com:pluskid/Mocha.jl.git", "ssh://git@host/x.git"])
def test_good_urls(url):
    assert jp.validate_url(url) == url


@pytest.mark.parametrize("url", ["", "ftp://x/y", "javascript:alert(1)", "-uhttps://x", "https://x/\ny", "relative/path",
                                 "https://a b"])
def test_bad_urls(url):
    with pytest.raises(jp.JuliaPkgError, match="invalid url"):
        jp.validate_url(url)


@pytest.mark.parametrize("rev", ["master", "v0.3.1", "julia-v1-fix", "feature/x", "4f3c2d1"])
def test_good_revs(rev):
    assert jp.validate_rev(rev) == rev


@pytest.mark.parametrize("rev", ["", "-b", "a..b", "x.lock", "a b", "HEAD@{1}", "x/", 'v1"'])
def test_bad_revs(rev):
    with pytest.raises(jp.JuliaPkgError, match="invalid rev"):
        jp.validate_rev(rev)


# ---------------------------------------------------------------------------------------------
# Versions and generations
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,expected,gen",
    [
        ("julia version 0.6.4\n", (0, 6, 4, "0.6.4"), "legacy"),
        ("julia version 0.4.7", (0, 4, 7, "0.4.7"), "legacy"),
        ("julia version 0.7.0", (0, 7, 0, "0.7.0"), "pkg3"),
        ("julia version 1.10.4\n", (1, 10, 4, "1.10.4"), "pkg3"),
        ("julia version 1.12.0-rc1", (1, 12, 0, "1.12.0-rc1"), "pkg3"),
    ],
)
def test_parse_julia_version(text, expected, gen):
    v = jp.parse_julia_version(text)
    assert v == expected
    assert jp.pkg_generation(v) == gen


@pytest.mark.parametrize("text", ["", "bash: julia: command not found", "Julia 0.6"])
def test_unreadable_versions(text):
    with pytest.raises(jp.JuliaPkgError, match="could not read a version"):
        jp.parse_julia_version(text)


def test_too_old_julia():
    with pytest.raises(jp.JuliaPkgError, match="too old"):
        jp.pkg_generation((0, 3, 12))


# ---------------------------------------------------------------------------------------------
# Code builders
# ---------------------------------------------------------------------------------------------
def test_legacy_add_with_version_pins_on_a_branch():
    assert jp.add_statements("legacy", "Mocha", version="v0.3.1") == [
        "_mc_init()",
        'Pkg.add("Mocha", VersionNumber("0.3.1"), VersionNumber("0.3.2"))',
        'Pkg.pin("Mocha", VersionNumber("0.3.1"))',
    ]


def test_legacy_add_from_url_clones_and_checks_out_rev():
    assert jp.add_statements("legacy", "Mocha", url="https://x/Mocha.jl.git", rev="v0.3.1") == [
        "_mc_init()",
        'Pkg.clone("https://x/Mocha.jl.git", "Mocha")',
        '_mc_checkout_rev("Mocha", "v0.3.1")',
        "Pkg.resolve()",
    ]


def test_legacy_registered_branch_checkout():
    assert jp.add_statements("legacy", "Mocha", rev="master") == ["_mc_init()", 'Pkg.add("Mocha")', 'Pkg.checkout("Mocha", "master")']


def test_pkg3_builders():
    assert jp.add_statements("pkg3", "Mocha", url="https://x/M.git", rev="v0.3.1") == [
        'Pkg.add(Pkg.PackageSpec(name="Mocha", url="https://x/M.git", rev="v0.3.1"))'
    ]
    assert jp.add_statements("pkg3", "HDF5", version="0.10.0") == [
        'Pkg.add(Pkg.PackageSpec(name="HDF5", version="0.10.0"))',
        'Pkg.pin(Pkg.PackageSpec(name="HDF5", version="0.10.0"))',
    ]
    assert jp.add_statements("pkg3", "JLD") == ['Pkg.add(Pkg.PackageSpec(name="JLD"))']
    assert jp.rm_statements("pkg3", "JLD") == ['Pkg.rm(Pkg.PackageSpec(name="JLD"))']
    assert jp.rm_statements("legacy", "JLD") == ['Pkg.rm("JLD")']
    assert jp.test_statements("pkg3", "Mocha") == ['Pkg.test("Mocha")']
    assert jp.build_statements("legacy", "Mocha") == ['Pkg.build("Mocha")']
    assert jp.update_statements("legacy", "Mocha") == ['_mc_free("Mocha")', 'Pkg.update("Mocha")']
    assert jp.update_statements("pkg3", "Mocha") == ['_mc_free("Mocha")', 'Pkg.update("Mocha")']


def test_builders_validate_before_building():
    with pytest.raises(jp.JuliaPkgError):
        jp.add_statements("legacy", 'Mocha"); run(`id`); ("')
    with pytest.raises(jp.JuliaPkgError):
        jp.add_statements("pkg3", "Mocha", url="https://x/$(run(`id`))", rev="a b")
    with pytest.raises(jp.JuliaPkgError):
        jp.add_statements("cobol", "Mocha")


def test_hostile_url_is_escaped_not_interpolated():
    url = "https://example.invalid/$(run(`id`))/Mocha.jl.git"
    (stmt,) = jp.add_statements("pkg3", "Mocha", url=url, rev="master")
    assert "\\$(run" in stmt
    assert FAKE.Parser(stmt).call() == ("Pkg.add", [("spec", {"name": "Mocha", "url": url, "rev": "master"})])


@pytest.mark.parametrize("gen", ["legacy", "pkg3"])
def test_program_layout(gen):
    prog = jp.build_program(gen, jp.add_statements(gen, "JLD"), ["JLD"], "")
    lines = prog.splitlines()
    assert lines[-1] == '_mc_report(String["JLD"], "")'
    assert ("using Pkg" in lines) == (gen == "pkg3")
    assert ("readstring" in prog) == (gen == "legacy")
    assert "Pkg.dependencies" in prog if gen == "pkg3" else "Pkg.installed()" in prog
    # The fake (a regex reader of exactly this shape) finds the statements at column 0, in order.
    expected = [("Pkg.add", [("spec", {"name": "JLD"})])]
    if gen == "legacy":
        expected = [("_mc_init", []), ("Pkg.add", ["JLD"])]
    assert FAKE.statements(prog) == expected + [("_mc_report", [["JLD"], ""])]


def test_report_call_for_everything():
    assert jp.report_call() == '_mc_report(nothing, "")'
    assert jp.report_call(["Mocha", "HDF5"], "v0.3.1") == '_mc_report(String["Mocha", "HDF5"], "v0.3.1")'


# ---------------------------------------------------------------------------------------------
# Protocol
# ---------------------------------------------------------------------------------------------
REPORT = {"julia": "0.6.4", "generation": "legacy",
          "packages": {"Mocha": {"version": "0.3.1", "path": "/d/v0.6/Mocha", "head": "ab", "branch": "pinned.v0.3.1",
                                 "url": "u", "rev_head": "ab"}}}


def test_parse_report_ignores_noise_and_takes_the_last_marker_line():
    text = "\n".join([
        "Configuring Mocha...",
        "MOCHA_CLOUD_JSON " + json.dumps({"packages": {}}),
        "INFO: Cloning Mocha",
        "MOCHA_CLOUD_JSON " + json.dumps(REPORT),
        "",
    ])
    assert jp.parse_report(text) == REPORT
    assert jp.package_state(jp.parse_report(text), "Mocha")["branch"] == "pinned.v0.3.1"
    assert jp.package_state(jp.parse_report(text), "JLD") is None


@pytest.mark.parametrize(
    "text,match",
    [
        ("ERROR: unknown package Mocha\n", "printed no"),
        ("MOCHA_CLOUD_JSON {not json", "could not parse"),
        ('MOCHA_CLOUD_JSON {"julia": "0.6.4"}', "no 'packages'"),
        ("  MOCHA_CLOUD_JSON {}", "printed no"),
    ],
)
def test_parse_report_errors(text, match):
    with pytest.raises(jp.JuliaPkgError, match=match):
        jp.parse_report(text)


def test_output_tail():
    text = "\n".join(str(i) for i in range(100))
    assert jp.output_tail(text, lines=3) == "97\n98\n99"
    assert jp.output_tail("") == ""


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------
ON_TAG = {"version": "0.3.1", "head": "c1", "branch": "pinned.v0.3.1", "url": "https://x/M.git", "rev_head": "c1"}


@pytest.mark.parametrize(
    "state,current,kw,action",
    [
        ("absent", None, {}, "none"),
        ("absent", ON_TAG, {}, "rm"),
        ("present", None, {"version": "0.3.1"}, "add"),
        ("present", ON_TAG, {"version": "v0.3.1"}, "none"),
        ("present", dict(ON_TAG, version="0.3.0"), {"version": "0.3.1"}, "add"),
        ("present", dict(ON_TAG, branch=""), {"version": "0.3.1"}, "add"),  # detached HEAD gets pinned
        ("present", ON_TAG, {"url": "https://x/M.git", "rev": "v0.3.1"}, "none"),
        ("present", dict(ON_TAG, rev_head="c0"), {"url": "https://x/M.git", "rev": "v0.3.0"}, "checkout"),
        ("present", dict(ON_TAG, branch=""), {"url": "https://x/M.git", "rev": "v0.3.1"}, "checkout"),
        ("present", ON_TAG, {"url": "https://fork/M.git", "rev": "v0.3.1"}, "reinstall"),
        ("latest", ON_TAG, {}, "update"),
        ("latest", None, {}, "add"),
        ("present", ON_TAG, {}, "none"),
    ],
)
def test_plan_legacy(state, current, kw, action):
    assert jp.plan(state, current, **kw) == action


def test_plan_pkg3_compares_git_source_and_revision():
    cur = {"version": "0.3.1", "path": "/p", "git_source": "https://x/M.git", "git_revision": "v0.3.1"}
    assert jp.plan("present", cur, url="https://x/M.git", rev="v0.3.1", generation="pkg3") == "none"
    assert jp.plan("present", cur, url="https://x/M.git", rev="master", generation="pkg3") == "reinstall"
    assert jp.plan("present", cur, url="https://y/M.git", rev="v0.3.1", generation="pkg3") == "reinstall"
    # Julia 0.7-1.3 cannot say where a package came from: installed counts as done.
    old = {"version": "0.3.1", "path": "/p", "head": "", "branch": "", "url": "", "rev_head": ""}
    assert jp.plan("present", old, url="https://x/M.git", rev="v0.3.1", generation="pkg3") == "none"
