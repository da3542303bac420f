"""julia_package / julia_package_info modules: exact argv with run_command mocked, then the whole
check-mode / real / repeat cycle against the FAKE julia (tests/fakes/julia/julia) and a local
Mocha-shaped git upstream, on both Pkg generations."""

import json
import re
import shutil
import subprocess
import sys
from unittest import mock

import pytest
from ansible.module_utils import basic
from ansible_collections.mocha.cloud.plugins.module_utils import julia_pkg as jp
from ansible_collections.mocha.cloud.plugins.modules import julia_package, julia_package_info
from ansible_collections.mocha.cloud.tests.unit.plugins.modules.utils import run_module
from conftest import REPO

FAKE_JULIA = str(REPO / "tests" / "fakes" / "julia" / "julia")


# ---------------------------------------------------------------------------------------------
# run_command mocked: what exactly is run
# ---------------------------------------------------------------------------------------------
def report_line(packages, gen="legacy"):
    return jp.MARKER + json.dumps({"julia": "0.6.4", "generation": gen, "packages": packages}) + "\n"


def test_argv_and_result_with_run_command_mocked(tmp_path):
    julia = tmp_path / "julia"
    julia.write_text("#!/bin/sh\n")
    julia.chmod(0o755)
    answers = [
        (0, "julia version 0.6.4\n", ""),
        (0, report_line({}), ""),
        (0, "INFO: Installing JLD\n" + report_line({"JLD": {"version": "0.8.3", "path": "/d/v0.6/JLD", "head": "",
                                                            "branch": "", "url": "", "rev_head": ""}}), ""),
    ]
    with mock.patch.object(basic.AnsibleModule, "run_command", side_effect=answers) as rc, \
            mock.patch.object(jp, "system_ca_store", return_value="/etc/ca.crt"):
        res = run_module(julia_package.main, {"name": "JLD", "version": "0.8.3", "julia": str(julia),
                                         "environment": {"JULIA_PKGDIR": "/d"}})
    assert res["changed"] is True and res["action"] == "add"
    assert (res["version"], res["path"], res["pkg_generation"]) == ("0.8.3", "/d/v0.6/JLD", "legacy")
    calls = rc.call_args_list
    assert calls[0].args[0] == [str(julia), "--version"]
    assert calls[1].args[0][:4] == [str(julia), "--startup-file=no", "--color=no", "-e"]
    assert calls[1].args[0][4].rstrip().endswith('_mc_report(String["JLD"], "")')
    action_code = calls[2].args[0][4]
    assert '_mc_init()\nPkg.add("JLD", VersionNumber("0.8.3"), VersionNumber("0.8.4"))\nPkg.pin("JLD", VersionNumber("0.8.3"))' in action_code
    for c in calls:  # every call trusts the system's CA bundle (Julia 0.6's libgit2 would use its 2018 cert.pem)
        assert c.kwargs["environ_update"] == {"JULIA_PKGDIR": "/d", "LC_ALL": "C", "SSL_CERT_FILE": "/etc/ca.crt"}


@pytest.mark.parametrize(
    "args,match",
    [
        ({"name": "Mocha.jl"}, "invalid Julia package name"),
        ({"name": "Mocha", "version": "latest"}, "invalid version"),
        ({"name": "Mocha", "state": "latest", "version": "0.3.1"}, "version cannot be combined with state=latest"),
        ({"name": "Mocha", "url": "https://x/M.git"}, "missing parameter\\(s\\) required by 'url': rev"),
        ({"name": "Mocha", "url": "https://x/M.git", "version": "0.3.1", "rev": "v0.3.1"}, "mutually exclusive"),
        ({"name": "Mocha", "url": "ftp://x/M.git", "rev": "v0.3.1"}, "invalid url"),
        ({"name": "Mocha", "url": "https://x/M.git", "rev": "a..b"}, "invalid rev"),
        ({"name": "Mocha", "state": "absent", "test": True}, "state=absent takes no"),
        ({"name": "Mocha", "version": "0.3.1", "rev": "master"}, "version and rev cannot be combined"),
    ],
)
def test_bad_input_is_refused_before_julia_runs(args, match):
    with mock.patch.object(basic.AnsibleModule, "run_command") as rc:
        res = run_module(julia_package.main, args)
    assert res["failed"] is True
    assert re.search(match, res["msg"]), res["msg"]
    rc.assert_not_called()


def test_not_a_julia(tmp_path):
    with mock.patch.object(basic.AnsibleModule, "run_command", return_value=(0, "Python 3.11\n", "")):
        res = run_module(julia_package.main, {"name": "Mocha", "julia": sys.executable})
    assert res["failed"] and "could not read a version" in res["msg"]


# ---------------------------------------------------------------------------------------------
# Against the fake julia
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    dest = tmp_path_factory.mktemp("up") / "Mocha.jl.git"
    out = subprocess.run([sys.executable, str(REPO / "tests" / "fixtures" / "make_mocha_upstream.py"), str(dest), "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def env_for(tmp_path, version, **extra):
    env = {"FAKE_JULIA_VERSION": version, "FAKE_JULIA_LOG": str(tmp_path / "argv.log")}
    if version.startswith("0.6"):
        env["JULIA_PKGDIR"] = str(tmp_path / "pkgdir")
    else:
        env["JULIA_DEPOT_PATH"] = str(tmp_path / "depot")
    env.update(extra)
    return env


def mocha_args(tmp_path, upstream, version, **kw):
    args = {"name": "Mocha", "url": "file://" + upstream["path"], "rev": "v0.3.1", "julia": FAKE_JULIA,
            "environment": env_for(tmp_path, version)}
    args.update(kw)
    return args


@pytest.mark.parametrize("version", ["0.6.4", "1.10.4"])
def test_check_real_repeat_check(version, tmp_path, upstream):
    args = mocha_args(tmp_path, upstream, version)
    check = run_module(julia_package.main, dict(args, _ansible_check_mode=True))
    assert (check["changed"], check["action"], check["version"]) == (True, "add", "")
    assert not (tmp_path / "pkgdir").exists() or not list((tmp_path / "pkgdir").rglob("Mocha"))

    real = run_module(julia_package.main, args)
    assert (real["changed"], real["action"], real["version"]) == (True, "add", "0.3.1")
    assert (tmp_path / real["path"] / "src" / "Mocha.jl").is_file()
    if version == "0.6.4":
        assert real["path"] == str(tmp_path / "pkgdir" / "v0.6" / "Mocha")
        assert real["head"] == upstream["refs"]["v0.3.1"]
        assert real["branch"] == "pinned.v0.3.1"  # a branch, not a detached HEAD
    else:
        assert real["path"].startswith(str(tmp_path / "depot" / "packages" / "Mocha") + "/")

    again = run_module(julia_package.main, args)
    assert (again["changed"], again["action"], again["version"], again["path"]) == (False, "none", "0.3.1", real["path"])
    check2 = run_module(julia_package.main, dict(args, _ansible_check_mode=True))
    assert check2["changed"] is False

    info = run_module(julia_package_info.main, {"julia": FAKE_JULIA, "environment": args["environment"]})
    assert info["packages"]["Mocha"]["version"] == "0.3.1"
    assert info["pkg_generation"] == ("legacy" if version == "0.6.4" else "pkg3")

    gone = run_module(julia_package.main, {"name": "Mocha", "state": "absent", "julia": FAKE_JULIA,
                                      "environment": args["environment"]})
    assert (gone["changed"], gone["version"], gone["path"]) == (True, "", "")
    assert not (tmp_path / real["path"]).exists()
    gone2 = run_module(julia_package.main, {"name": "Mocha", "state": "absent", "julia": FAKE_JULIA,
                                       "environment": args["environment"]})
    assert gone2["changed"] is False

    log = [json.loads(line)["argv"] for line in (tmp_path / "argv.log").read_text().splitlines()]
    codes = [a[-1] for a in log if "-e" in a]
    if version == "0.6.4":
        assert any('Pkg.clone("file://' in c for c in codes)
        assert any('Pkg.rm("Mocha")' in c for c in codes)
    else:
        assert any('Pkg.add(Pkg.PackageSpec(name="Mocha", url="file://' in c for c in codes)
        assert any('Pkg.rm(Pkg.PackageSpec(name="Mocha"))' in c for c in codes)


def test_julia_06_never_sees_ssl_cert_dir(tmp_path, upstream, monkeypatch):
    """Julia 0.6 takes SSL_CERT_DIR before SSL_CERT_FILE and aborts at start when the directory holds a dangling link
    (JuliaLang/julia#20439): the module gives Julia the CA bundle file only, and drops an SSL_CERT_DIR it inherits or
    is handed."""
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "gone.pem").symlink_to(tmp_path / "no-such-ca.pem")
    monkeypatch.setenv("SSL_CERT_DIR", str(certs))
    bundle = tmp_path / "ca.crt"
    bundle.write_text("FAKE system CA bundle\n")
    args = mocha_args(tmp_path, upstream, "0.6.4")
    args["environment"].update(SSL_CERT_FILE=str(bundle), SSL_CERT_DIR=str(certs))
    res = run_module(julia_package.main, args)
    assert res.get("failed") is not True, res.get("msg")
    assert (res["changed"], res["version"]) == (True, "0.3.1")


def test_version_change_moves_the_checkout(tmp_path, upstream):
    first = run_module(julia_package.main, mocha_args(tmp_path, upstream, "0.6.4", rev="v0.3.0"))
    assert (first["version"], first["branch"]) == ("0.3.0", "pinned.v0.3.0")
    moved = run_module(julia_package.main, mocha_args(tmp_path, upstream, "0.6.4"))
    assert (moved["changed"], moved["action"], moved["version"]) == (True, "checkout", "0.3.1")
    assert moved["head"] == upstream["refs"]["v0.3.1"]
    branch = run_module(julia_package.main, mocha_args(tmp_path, upstream, "0.6.4", rev="master"))
    assert (branch["branch"], branch["head"]) == ("master", upstream["refs"]["master"])
    assert branch["version"] == "0.3.1+"


def test_registry_install_and_pin_legacy(tmp_path, upstream):
    registry = tmp_path / "registry"
    registry.write_text("Mocha file://{}\n".format(upstream["path"]))
    env = env_for(tmp_path, "0.6.4", FAKE_JULIA_REGISTRY=str(registry))
    args = {"name": "Mocha", "version": "0.3.0", "julia": FAKE_JULIA, "environment": env}
    res = run_module(julia_package.main, args)
    assert (res["version"], res["head"]) == ("0.3.0", upstream["refs"]["v0.3.0"])
    assert res["branch"].startswith("pinned.") and res["branch"].endswith(".tmp")
    assert run_module(julia_package.main, args)["changed"] is False
    up = run_module(julia_package.main, dict(args, version="0.3.1"))
    assert (up["changed"], up["version"]) == (True, "0.3.1")
    latest = run_module(julia_package.main, {"name": "Mocha", "state": "latest", "julia": FAKE_JULIA, "environment": env})
    assert latest["action"] == "update" and latest["version"] == "0.3.1"
    unknown = run_module(julia_package.main, dict(args, name="NoSuchPkg"))
    assert unknown["failed"] and "unknown package NoSuchPkg" in unknown["msg"]


def test_test_option_reports_pass_and_fail(tmp_path, upstream):
    args = mocha_args(tmp_path, upstream, "0.6.4", test=True)
    ok = run_module(julia_package.main, args)
    assert ok["test_passed"] is True
    assert "Test Summary" in ok["test_output_tail"] and "Mocha tests passed" in ok["test_output_tail"]
    args["environment"] = dict(args["environment"], FAKE_JULIA_FAIL_ONCE="test")
    bad = run_module(julia_package.main, args)
    assert bad["failed"] is True and bad["test_passed"] is False
    assert "Mocha had test errors" in bad["test_output_tail"]
    assert run_module(julia_package.main, args)["test_passed"] is True  # only once
    checked = run_module(julia_package.main, dict(args, _ansible_check_mode=True))
    assert checked["test_passed"] is None


def test_failed_add_leaves_a_broken_checkout_that_rm_clears(tmp_path, upstream):
    args = mocha_args(tmp_path, upstream, "0.6.4")
    args["environment"]["FAKE_JULIA_FAIL_ONCE"] = "add"
    first = run_module(julia_package.main, args)
    assert first["failed"] and "Pkg.clone" not in first["msg"] and "503" in first["msg"]
    retry = run_module(julia_package.main, args)  # the half-made clone is in the way
    assert retry["failed"]
    rm = run_module(julia_package.main, {"name": "Mocha", "state": "absent", "julia": FAKE_JULIA,
                                    "environment": args["environment"]})
    assert rm["changed"] is True
    fixed = run_module(julia_package.main, args)
    assert (fixed["changed"], fixed["version"], fixed["branch"]) == (True, "0.3.1", "pinned.v0.3.1")


def test_build_runs_deps_build_jl(tmp_path, upstream):
    if not shutil.which("g++"):
        pytest.skip("no g++ here")
    res = run_module(julia_package.main, mocha_args(tmp_path, upstream, "0.6.4", build=True))
    assert res["changed"] is True
    lib = tmp_path / "pkgdir" / "v0.6" / "Mocha" / "deps" / "libmochaext.so"
    assert lib.is_file() and lib.read_bytes()[:4] == b"\x7fELF"


# ---------------------------------------------------------------------------------------------
# program_file: the long Pkg steps written for a supervisor, run detached, then read back
# ---------------------------------------------------------------------------------------------
def run_pending(res):
    """Run what the module wrote the way jobctl does: source the environment file, then the command."""
    assert res["pending"] is True and res["argv"][-1].endswith("program.jl") and res["env_file"].endswith(".env")
    script = f'set -a; . {res["env_file"]}; set +a; exec "$@"'
    return subprocess.run(["sh", "-c", script, "sh"] + res["argv"], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("version", ["0.6.4", "1.10.4"])
def test_program_file_writes_the_change_for_a_supervisor_and_a_second_call_reads_it(version, tmp_path, upstream):
    args = mocha_args(tmp_path, upstream, version, program_file=str(tmp_path / "jobs" / "add-Mocha" / "program.jl"))
    plan = run_module(julia_package.main, args)
    assert (plan["changed"], plan["action"], plan["version"]) == (True, "add", "")
    assert not (tmp_path / "pkgdir" / "v0.6" / "Mocha").exists()  # written, not run
    env = (tmp_path / "jobs" / "add-Mocha" / "program.jl.env").read_text()
    assert "export SSL_CERT_FILE=" in env and "unset SSL_CERT_DIR" in env and "export LC_ALL='C'" in env
    ran = run_pending(plan)
    assert ran.returncode == 0, ran.stderr
    assert jp.MARKER in ran.stdout  # the program ends with its report, as a direct run does
    done = run_module(julia_package.main, {k: v for k, v in args.items() if k != "program_file"})
    assert (done["changed"], done["action"], done["version"]) == (False, "none", "0.3.1")
    again = run_module(julia_package.main, args)  # nothing to do: nothing written, nothing pending
    assert again["pending"] is False and again["changed"] is False


def test_program_file_with_test_fails_in_the_job_when_the_tests_fail(tmp_path, upstream):
    args = mocha_args(tmp_path, upstream, "0.6.4")
    run_module(julia_package.main, args)
    args["environment"]["FAKE_JULIA_FAIL_ONCE"] = "test"
    plan = run_module(julia_package.main, dict(args, test=True, program_file=str(tmp_path / "jobs" / "test" / "program.jl")))
    assert plan["pending"] is True and plan["changed"] is False
    failed = run_pending(plan)
    assert failed.returncode == 1 and "Mocha had test errors" in failed.stderr
    assert run_pending(plan).returncode == 0  # failing once only, as the fake was told


def test_state_initialized_is_pkg_init_on_julia_06_and_nothing_on_1x(tmp_path):
    legacy = {"state": "initialized", "julia": FAKE_JULIA, "environment": env_for(tmp_path, "0.6.4")}
    check = run_module(julia_package.main, dict(legacy, _ansible_check_mode=True))
    assert (check["changed"], check["action"]) == (True, "init")
    plan = run_module(julia_package.main, dict(legacy, program_file=str(tmp_path / "jobs" / "init" / "program.jl")))
    assert plan["pending"] is True and "_mc_init()" in (tmp_path / "jobs" / "init" / "program.jl").read_text()
    assert not (tmp_path / "pkgdir" / "v0.6" / "METADATA").exists()
    assert run_pending(plan).returncode == 0
    assert (tmp_path / "pkgdir" / "v0.6" / "METADATA").is_dir()
    assert run_module(julia_package.main, legacy)["changed"] is False
    direct = {"state": "initialized", "julia": FAKE_JULIA, "environment": env_for(tmp_path / "b", "0.6.4")}
    assert run_module(julia_package.main, direct)["action"] == "init"  # without program_file it runs at once
    assert (tmp_path / "b" / "pkgdir" / "v0.6" / "METADATA").is_dir()
    pkg3 = run_module(julia_package.main, {"state": "initialized", "julia": FAKE_JULIA, "environment": env_for(tmp_path, "1.10.4")})
    assert (pkg3["changed"], pkg3["action"]) == (False, "none")


def test_state_initialized_takes_no_package():
    with mock.patch.object(basic.AnsibleModule, "run_command") as rc:
        res = run_module(julia_package.main, {"state": "initialized", "name": "Mocha"})
    assert res["failed"] and "state=initialized takes no name" in res["msg"]
    rc.assert_not_called()
    with mock.patch.object(basic.AnsibleModule, "run_command") as rc:
        res = run_module(julia_package.main, {"state": "present"})
    assert res["failed"] and "name" in res["msg"]
    rc.assert_not_called()


def test_env_file_text_quotes_what_a_shell_would_expand():
    text = jp.env_file_text({"A": "it's $HOME `x`", "B": "two\nlines"}, unset=("SSL_CERT_DIR",))
    out = subprocess.run(["sh", "-c", f'{text}\nprintf "%s|%s|%s" "$A" "$B" "${{SSL_CERT_DIR-unset}}"'],
                         env={"SSL_CERT_DIR": "/etc/ssl/certs", "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert out.stdout == "it's $HOME `x`|two\nlines|unset"
    with pytest.raises(jp.JuliaPkgError):
        jp.env_file_text({"BAD NAME": "x"})
