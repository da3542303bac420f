"""The FAKE julia itself (tests/fakes/julia/julia): version sources, argv log, Pkg generations,
script mode, deps/build.jl, failing once. Plus the Mocha-shaped upstream fixture and its Makefile."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import julia_pkg as jp
from conftest import REPO

FAKE_DIR = REPO / "tests" / "fakes" / "julia"
FAKE = str(FAKE_DIR / "julia")
MAKE_UPSTREAM = str(REPO / "tests" / "fixtures" / "make_mocha_upstream.py")


def run(args, env=None, cwd=None, julia=FAKE):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_JULIA", "JULIA_"))}
    full.update(env or {})
    return subprocess.run([julia] + args, env=full, cwd=cwd, capture_output=True, text=True, check=False)


@pytest.fixture()
def env(tmp_path):
    return {"FAKE_JULIA_VERSION": "0.6.4", "JULIA_PKGDIR": str(tmp_path / "pkg"), "HOME": str(tmp_path)}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    dest = tmp_path_factory.mktemp("up") / "Mocha.jl.git"
    out = subprocess.run([sys.executable, MAKE_UPSTREAM, str(dest), "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_it_is_named_a_fake_and_executable():
    text = (FAKE_DIR / "julia").read_text()
    assert "FAKE julia" in text.split('"""')[1]
    assert os.access(FAKE, os.X_OK)


def test_version_from_env_then_file_else_error(tmp_path):
    assert run(["--version"], {"FAKE_JULIA_VERSION": "1.10.4"}).stdout == "julia version 1.10.4\n"
    copy = tmp_path / "bin"
    copy.mkdir()
    shutil.copy(FAKE, copy / "julia")
    shutil.copy(Path(FAKE).parent / "fakeruntime.py", copy / "fakeruntime.py")
    bare = run(["--version"], julia=str(copy / "julia"))
    assert bare.returncode == 1 and "no version" in bare.stderr
    (copy / "fake-julia-version").write_text("0.6.4\n")
    link = tmp_path / "julia-link"
    link.symlink_to(copy / "julia")  # the file is found beside the realpath
    assert run(["--version"], julia=str(link)).stdout == "julia version 0.6.4\n"


def test_argv_is_logged(tmp_path, env):
    env["FAKE_JULIA_LOG"] = str(tmp_path / "log")
    run(["--startup-file=no", "-e", jp.build_program("legacy", [], None)], env)
    (entry,) = [json.loads(line) for line in (tmp_path / "log").read_text().splitlines()]
    assert entry["argv"][1:3] == ["--startup-file=no", "-e"]
    del env["FAKE_JULIA_LOG"]
    run(["-e", jp.build_program("legacy", [], None)], env)
    assert (tmp_path / "pkg" / "fake-julia-argv.log").is_file()


@pytest.mark.parametrize(
    "version,code,error",
    [
        ("0.6.4", jp.build_program("pkg3", [], None), "Module Pkg not found"),
        ("1.10.4", jp.build_program("legacy", [], None), "UndefVarError"),
        ("1.10.4", 'Pkg.add("Mocha")\n', "UndefVarError: Pkg not defined"),
        ("0.6.4", 'Pkg.add("Mo$(x)cha")\n', "unescaped \\$"),
        ("0.6.4", "run(`rm -rf /`)\n", "cannot run the top-level line"),
        ("0.6.4", 'Pkg.frobnicate("Mocha")\n', "MethodError"),
    ],
)
def test_code_for_the_wrong_generation_or_unknown_code_fails_like_julia(version, code, error, env):
    env["FAKE_JULIA_VERSION"] = version
    p = run(["-e", code], env)
    assert p.returncode == 1
    assert p.stderr.startswith("ERROR: ")
    assert re.search(error, p.stderr), p.stderr


def test_stub_packages_and_state_file(env, tmp_path):
    code = jp.build_program("legacy", jp.add_statements("legacy", "HDF5") + jp.add_statements("legacy", "JLD"), None)
    p = run(["-e", code], env)
    assert p.returncode == 0, p.stderr
    report = jp.parse_report(p.stdout)
    assert sorted(report["packages"]) == ["HDF5", "JLD"]
    root = tmp_path / "pkg" / "v0.6"
    assert (root / "REQUIRE").read_text() == "HDF5\nJLD\n"
    assert json.loads((root / ".fake-julia-state.json").read_text())["packages"]["JLD"]["kind"] == "stub"


def test_pkg3_layout(tmp_path, upstream):
    env = {"FAKE_JULIA_VERSION": "1.10.4", "JULIA_DEPOT_PATH": f"{tmp_path}/depot:/usr/share/julia", "HOME": str(tmp_path)}
    code = jp.build_program("pkg3", jp.add_statements("pkg3", "Mocha", url="file://" + upstream["path"], rev="v0.3.1"),
                            ["Mocha"])
    p = run(["-e", code], env)
    assert p.returncode == 0, p.stderr
    m = jp.parse_report(p.stdout)["packages"]["Mocha"]
    assert m["git_revision"] == "v0.3.1" and m["git_source"] == "file://" + upstream["path"]
    assert m["version"] == "0.3.1"
    assert m["path"].startswith(str(tmp_path / "depot" / "packages" / "Mocha"))
    assert not os.path.exists(os.path.join(m["path"], ".git"))  # a tree, as Pkg3 installs
    assert 'Mocha = "' in (tmp_path / "depot" / "environments" / "v1.10" / "Project.toml").read_text()
    old = dict(env, FAKE_JULIA_VERSION="1.3.1")  # before Pkg.dependencies(): no git_* fields
    assert "git_source" not in jp.parse_report(run(["-e", jp.build_program("pkg3", [], None)], old).stdout)["packages"]["Mocha"]


def test_script_mode_execs_train_py_beside_the_realpath(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shutil.copy(FAKE, bindir / "julia")
    shutil.copy(Path(FAKE).parent / "fakeruntime.py", bindir / "fakeruntime.py")
    (bindir / "fake-julia-version").write_text("0.6.4\n")
    (bindir / "train.py").write_text(
        "import json, os, sys\nprint(json.dumps({'argv': sys.argv[1:], 'cuda': os.environ.get('MOCHA_USE_CUDA')}))\n"
    )
    p = run(["--startup-file=no", "-p", "2", "cifar10.jl", "--resume"], {"MOCHA_USE_CUDA": "false"}, cwd=tmp_path,
            julia=str(bindir / "julia"))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"argv": ["cifar10.jl", "--resume"], "cuda": "false"}


def test_fixture_shape(upstream, tmp_path):
    git = ["git", "--git-dir", upstream["path"]]
    tags = subprocess.run(git + ["tag"], capture_output=True, text=True, check=True).stdout.split()
    assert tags == ["v0.3.0", "v0.3.1"]
    files = subprocess.run(git + ["ls-tree", "-r", "--name-only", "v0.3.1"], capture_output=True, text=True,
                           check=True).stdout.split()
    for f in ("REQUIRE", "src/Mocha.jl", "src/cuda/kernels/Makefile", "src/cuda/kernels/kernels.cu", "deps/build.jl",
              "test/runtests.jl"):
        assert f in files
    require = subprocess.run(git + ["show", "v0.3.1:REQUIRE"], capture_output=True, text=True, check=True).stdout
    assert require.splitlines()[0] == "julia 0.6"
    assert upstream["refs"]["master"] != upstream["refs"]["v0.3.1"]
    again = subprocess.run([sys.executable, MAKE_UPSTREAM, upstream["path"]], capture_output=True, text=True, check=False)
    assert again.returncode != 0 and "not empty" in again.stderr


def test_build_jl_script_mode_and_pkg_test_with_native_ext(upstream, env, tmp_path):
    if not shutil.which("g++"):
        pytest.skip("no g++ here")
    code = jp.build_program("legacy", jp.add_statements("legacy", "Mocha", url="file://" + upstream["path"], rev="v0.3.1"),
                            ["Mocha"], "v0.3.1")
    assert run(["-e", code], env).returncode == 0
    mocha = tmp_path / "pkg" / "v0.6" / "Mocha"
    test_code = jp.build_program("legacy", jp.test_statements("legacy", "Mocha"), report=False)
    native_env = dict(env, MOCHA_USE_NATIVE_EXT="true")
    before = run(["-e", test_code], native_env)
    assert before.returncode == 1 and "could not load native extension" in before.stdout
    build = run(["--startup-file=no", "build.jl"], env, cwd=mocha / "deps")
    assert build.returncode == 0, build.stderr
    assert "Running `g++ -fPIC" in build.stdout
    assert (mocha / "deps" / "libmochaext.so").is_file()
    after = run(["-e", test_code], native_env)
    assert after.returncode == 0, after.stdout + after.stderr
    assert " * Native Ext enabled" in after.stdout and "Mocha tests passed" in after.stderr
    gpu = run(["-e", test_code], dict(env, MOCHA_USE_CUDA="false"))  # Mocha's tests only ask haskey()
    assert gpu.returncode == 1 and "kernels.ptx" in gpu.stdout


def test_build_fails_like_julia_without_a_compiler(upstream, env, tmp_path):
    code = jp.build_program("legacy", jp.add_statements("legacy", "Mocha", url="file://" + upstream["path"], rev="v0.3.1"),
                            ["Mocha"])
    assert run(["-e", code], env).returncode == 0
    p = run(["-e", jp.build_program("legacy", jp.build_statements("legacy", "Mocha"), ["Mocha"])],
            dict(env, CXX="/nonexistent/g++"))
    assert p.returncode == 1 and "could not spawn" in p.stderr


def test_pkg2_needs_init_when_julia_pkgdir_is_set(env, tmp_path):
    env["FAKE_JULIA_LOG"] = str(tmp_path / "argv.log")  # else the log itself lands in the depot
    read = run(["-e", jp.build_program("legacy", [], None)], env)
    assert read.returncode == 0 and jp.parse_report(read.stdout)["packages"] == {}
    assert not (tmp_path / "pkg").exists()  # reading changes nothing
    bare_add = run(["-e", 'Pkg.add("JLD")\n'], env)
    assert bare_add.returncode == 1 and "run Pkg.init()" in bare_add.stderr
    code = jp.build_program("legacy", jp.add_statements("legacy", "JLD"), ["JLD"])
    assert run(["-e", code], env).returncode == 0
    assert (tmp_path / "pkg" / "v0.6" / "METADATA").is_dir()


def test_fail_once_flag_file(env, tmp_path):
    root = tmp_path / "pkg" / "v0.6"
    root.mkdir(parents=True)
    (root / "fake-julia-fail-once").write_text("add\n")
    code = jp.build_program("legacy", jp.add_statements("legacy", "JLD"), ["JLD"])
    assert run(["-e", code], env).returncode == 1
    assert run(["-e", code], env).returncode == 0


def test_fixture_kernels_compile_with_nvcc(upstream, tmp_path):
    if not (shutil.which("nvcc") and shutil.which("make")):
        pytest.skip("no nvcc/make here")
    work = tmp_path / "mocha"
    subprocess.run(["git", "clone", "-q", upstream["path"], str(work)], check=True)
    kernels = work / "src" / "cuda" / "kernels"
    p = subprocess.run(["make"], cwd=kernels, capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr
    ptx = (kernels / "kernels.ptx").read_text()
    assert ".entry mocha_cloud_scale_float" in ptx


def test_pkg_init_is_quiet_for_as_long_as_the_metadata_clone_takes(env, tmp_path):
    """The real Pkg.init prints that it clones METADATA.jl, then nothing for 12-25 minutes (METADATA.jl#5128); the fake
    is quiet for FAKE_JULIA_PKG_SECONDS' init seconds, after its first lines, so a supervisor's polls see it run."""
    ca = tmp_path / "ca.crt"
    ca.write_text("FAKE CA\n")
    proc = subprocess.Popen([FAKE, "-e", "Pkg.init()"], stderr=subprocess.PIPE, text=True,
                            env={**{k: v for k, v in os.environ.items() if not k.startswith(("FAKE_JULIA", "JULIA_"))},
                                 **env, "SSL_CERT_FILE": str(ca), "FAKE_JULIA_PKG_SECONDS": "init=2"})
    started = time.monotonic()
    first = proc.stderr.readline() + proc.stderr.readline()
    assert "Initializing package repository" in first and "Cloning METADATA from https://github.com/JuliaLang/METADATA.jl" in first
    assert time.monotonic() - started < 1.5 and proc.poll() is None  # printed at once, then still at it
    assert proc.wait(timeout=30) == 0 and time.monotonic() - started >= 2
    assert (tmp_path / "pkg" / "v0.6" / "METADATA").is_dir()


def test_pkg_init_waits_for_its_release_file(env, tmp_path):
    """With FAKE_JULIA_PKG_RELEASE_FILE, the clone goes on only once the file exists: a test that must see it running
    lets it end after it was seen, on a machine of any speed."""
    ca = tmp_path / "ca.crt"
    ca.write_text("FAKE CA\n")
    release = tmp_path / "release"
    proc = subprocess.Popen([FAKE, "-e", "Pkg.init()"], stderr=subprocess.DEVNULL, text=True,
                            env={**{k: v for k, v in os.environ.items() if not k.startswith(("FAKE_JULIA", "JULIA_"))},
                                 **env, "SSL_CERT_FILE": str(ca), "FAKE_JULIA_PKG_SECONDS": "init=0",
                                 "FAKE_JULIA_PKG_RELEASE_FILE": str(release)})
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=2)
    assert not (tmp_path / "pkg" / "v0.6" / "METADATA").is_dir()
    release.touch()
    assert proc.wait(timeout=30) == 0
    assert (tmp_path / "pkg" / "v0.6" / "METADATA").is_dir()


def test_a_pkg_program_in_a_file_runs_as_with_e(env, tmp_path):
    from ansible_collections.mocha.cloud.plugins.module_utils import julia_pkg as jp

    program = tmp_path / "program.jl"
    program.write_text(jp.build_program(jp.LEGACY, jp.init_statements(jp.LEGACY), []))
    ca = tmp_path / "ca.crt"
    ca.write_text("FAKE CA\n")
    out = run([str(program)], dict(env, SSL_CERT_FILE=str(ca), FAKE_JULIA_PKG_SECONDS="init=0",
                                   FAKE_JULIA_LOG=str(tmp_path / "argv.log")))
    assert out.returncode == 0, out.stderr
    assert jp.parse_report(out.stdout)["initialized"] is True
    logged = json.loads((tmp_path / "argv.log").read_text().splitlines()[-1])
    assert logged["argv"][-1] == str(program) and "_mc_init()" in logged["code"]
