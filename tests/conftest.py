"""Shared pytest set-up: make this checkout importable as ``ansible_collections.mocha.cloud``.

A temporary ``ansible_collections/mocha/cloud`` link to the checkout is made outside the tree
(no symlink loop inside the repository) and put first on ``sys.path``.
"""

import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
GPU_BOX = FIXTURES / "gpu-box-ubuntu2404-h200"


def read_capture(name):
    """One GPU-box capture: its body (stdout and stderr, ending in a newline) and its exit code.

    Each file starts with a `$ <command>` line and ends with a `# rc=<code>` line.
    """
    lines = (GPU_BOX / name).read_text().splitlines()
    assert lines[0].startswith("$ ") and lines[-1].startswith("# rc="), name
    return "\n".join(lines[1:-1]) + "\n", int(lines[-1][5:])


def capture(name):
    """The body of one GPU-box capture (see read_capture)."""
    return read_capture(name)[0]


def load_source(path, name=None):
    """A Python file of the repository (a fixture maker, a fake, a role's script) loaded as a module named NAME.

    Files without the .py suffix load too (the fake julia is an executable script named ``julia``).
    """
    loader = importlib.machinery.SourceFileLoader(name or Path(path).stem, str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def _link_collection() -> None:
    base = Path(tempfile.mkdtemp(prefix="mocha-cloud-coll-"))
    ns = base / "ansible_collections" / "mocha"
    ns.mkdir(parents=True)
    os.symlink(REPO, ns / "cloud")
    sys.path.insert(0, str(base))
    # ansible_collections is a namespace package; drop any cached portion list so ours is seen.
    for mod in [m for m in sys.modules if m == "ansible_collections" or m.startswith("ansible_collections.mocha")]:
        del sys.modules[mod]


_link_collection()


# --- Tests need only the repository --------------------------------------------------------------------------
# A user's clone has nothing beside it. Every file a test opens in this process is checked: one that lies beside
# the checkout (under its parent directory, outside the checkout) fails the test that opened it. What every user's
# machine has is not "beside" even when the clone's parent holds it: for `cd ~ && git clone`, the parent is the home
# directory, whose hidden entries (~/.cache, ~/.config, ~/.ansible, ~/.gitconfig), the XDG directories and the
# temporary directory are the user's own configuration and caches (matplotlib's font cache, say), not a sibling
# folder of the workspace (a shared fixtures folder, another checkout).
_OUTSIDE_READS = []


def _per_user_dirs(home):
    dirs = [Path(tempfile.gettempdir())]
    for var in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
        if os.environ.get(var):
            dirs.append(Path(os.path.abspath(os.environ[var])))
    return [d for d in dirs if d != home]


def outside_repo(path, repo=REPO, home=None):
    """True for a path beside the checkout: under the checkout's parent directory, not inside the checkout, and not
    in the user's own configuration or caches (a hidden entry of HOME, an XDG directory, the temporary directory;
    one that holds the checkout itself does not count, or everything beside it would pass)."""
    try:
        p = Path(os.path.abspath(os.fsdecode(path)))
    except (TypeError, ValueError):
        return False
    if not p.is_relative_to(repo.parent) or p.is_relative_to(repo):
        return False
    home = Path(os.path.abspath(home or Path.home()))
    if p.is_relative_to(home) and p != home and p.relative_to(home).parts[0].startswith("."):
        return False
    return not any(p.is_relative_to(d) and not repo.is_relative_to(d) for d in _per_user_dirs(home))


def _audit(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)) and outside_repo(args[0]):
        _OUTSIDE_READS.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


def _check_outside_reads(item):
    if _OUTSIDE_READS:
        paths = sorted(set(_OUTSIDE_READS))
        _OUTSIDE_READS.clear()
        raise AssertionError(f"{item.nodeid} opened files outside the repository (copy them into tests/fixtures/): {paths}")


# --- Tests leave no process behind ----------------------------------------------------------------------------
# gpg starts a gpg-agent daemon per home directory, and it outlives the test. Tests that make keys take their home
# from the gnupg_home fixture, which stops the agent afterwards; every test is checked for an agent left running
# with its home under this session's temporary directory.


def gpg_agents_under(root):
    """{pid: homedir} of live gpg-agent processes whose --homedir lies under ROOT (read from /proc)."""
    root = Path(root).resolve()
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z" or not argv or os.path.basename(argv[0].decode(errors="replace")).strip("[]") != "gpg-agent":
            continue
        args = [a.decode(errors="replace") for a in argv]
        if "--homedir" in args[:-1]:
            home = Path(args[args.index("--homedir") + 1])
            if home.resolve().is_relative_to(root):
                found[int(proc.name)] = str(home)
    return found


def stop_gpg_agents(home, timeout=10.0):
    """Stop the gpg daemons of one home directory (gpgconf --kill all) and wait until they are gone."""
    gpgconf = shutil.which("gpgconf")
    if gpgconf:
        subprocess.run([gpgconf, "--homedir", str(home), "--kill", "all"], capture_output=True, check=False,
                       env={"PATH": "/usr/bin:/bin", "GNUPGHOME": str(home)})
    deadline = time.monotonic() + timeout
    while gpg_agents_under(home) and time.monotonic() < deadline:
        time.sleep(0.1)
    return gpg_agents_under(home)


@pytest.fixture
def gnupg_home(tmp_path):
    """A throw-away GNUPGHOME; its gpg-agent is stopped when the test ends."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    yield home
    left = stop_gpg_agents(home)
    assert not left, f"gpg-agent still running after gpgconf --kill all: {left}"


def _check_gpg_agents(item):
    left = gpg_agents_under(item.config._tmp_path_factory.getbasetemp())
    if left:
        for home in set(left.values()):
            stop_gpg_agents(home)  # fail this test, not every later one
        raise AssertionError(f"{item.nodeid} left gpg-agent running (use the gnupg_home fixture): {left}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item):
    """Around the test's teardown (its fixtures' finalizers): no file read beside the checkout, and afterwards no
    gpg-agent left behind, even when a finalizer failed."""
    try:
        return (yield)
    finally:
        try:
            _check_outside_reads(item)
        finally:
            _check_gpg_agents(item)


# --- AWS stand-in for the tests under tests/integration (their moto_server.py) ------------------------------------


@pytest.fixture
def no_credentials(tmp_path, monkeypatch):
    """An environment where botocore finds nothing: no variables, empty shared files, no instance metadata."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "BOTO_")):
            monkeypatch.delenv(name)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


@pytest.fixture(scope="module")
def fake_aws(tmp_path_factory):
    """One local moto server per test module; see tests/integration/moto_server.py."""
    from moto_server import FakeAws  # tests/integration is on sys.path for the modules that use this fixture

    server = FakeAws(tmp_path_factory.mktemp("moto")).start()
    yield server
    server.stop()


@pytest.fixture
def aws(fake_aws, tmp_path):
    """The module's moto server, emptied, with an environment for ansible subprocesses that reaches only it."""
    from moto_server import aws_env

    fake_aws.reset()
    fake_aws.env = aws_env(fake_aws.endpoint, tmp_path)
    fake_aws.tmp = tmp_path
    return fake_aws


# --- a role's task files run by ansible-playbook on this machine -------------------------------------------------

ROLE_TASKS_PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: {root}/roles/{role}
        tasks_from: "{{{{ __test_tasks }}}}"
      loop: {tasks}
      loop_control:
        loop_var: __test_tasks
"""


def run_role_tasks(tmp_path, role, tasks, extra):
    """ansible-playbook of the role's task files TASKS, in order, on localhost with the test's Python and this
    checkout's ansible.cfg. Returns (return code, stdout and stderr with whitespace folded)."""
    import json

    book = tmp_path / "play.yml"
    book.write_text(ROLE_TASKS_PLAY.format(root=REPO, role=role, tasks=json.dumps(list(tasks))))
    extra = dict(extra, ansible_python_interpreter=sys.executable)
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", str(book),
                          "-e", json.dumps(extra)], capture_output=True, text=True, cwd=REPO, check=False,
                         env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1"))
    return run.returncode, " ".join((run.stdout + run.stderr).split())
