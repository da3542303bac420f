"""module_utils/escape.py (behind the filter mocha.cloud.escape_for): each value read back by the format's own reader
where one runs here.

Julia cannot run here: the fake julia's parser (tests/fakes/julia/train.py) reads string literals with Julia's
rules (escapes, and an unescaped "$" refused as interpolation). GNU make and systemd-analyze are the real ones.
"""

import shutil
import subprocess

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import escape
from conftest import REPO, load_source

fake_julia = load_source(REPO / "tests" / "fakes" / "julia" / "train.py", "fake_julia_train")

HOSTILE = [
    '/srv/x") ; run(`touch /tmp/pwned`) ; ("',
    "/srv/$(whoami)/$HOME/${PATH}",
    "/srv/back\\slash\\\\n",
    "/srv/100%n %% ünïcødé ☃",
    "/srv/line\nbreak\ttab",
    "/srv/#hash 'single' \"double\"",
]


# --- Julia ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", HOSTILE + ["/var/lib/mocha-cifar10/run", ""])
def test_julia_literal_reads_back_exactly(value):
    literal = escape.escape_for(value, "julia")
    assert literal.startswith('"') and literal.endswith('"')
    assert all(0x20 <= ord(c) < 0x7F for c in literal)  # one printable ASCII line
    assert fake_julia.julia_unescape(literal[1:-1]) == value


def test_julia_str_is_the_rule_the_julia_package_module_uses():
    from ansible_collections.mocha.cloud.plugins.module_utils import julia_pkg

    assert julia_pkg.julia_str('a"$b\u00e9') == escape.julia_str('a"$b\u00e9') == '"a\\"\\$b\\U000000e9"'
    with pytest.raises(escape.EscapeError, match="needs a str"):
        escape.julia_str(3)
    with pytest.raises(julia_pkg.JuliaPkgError, match="needs a str"):
        julia_pkg.julia_str(3)


def test_julia_unescaped_interpolation_is_what_the_fake_refuses():
    """The fake reads literals as Julia does: a raw '$' interpolates, so it fails; the escaped form does not."""
    with pytest.raises(SystemExit):
        fake_julia.julia_unescape("/srv/$HOME")
    assert fake_julia.julia_unescape(escape.julia("/srv/$HOME")[1:-1]) == "/srv/$HOME"


# --- make ---------------------------------------------------------------------------------------------------

MAKE_VALUES = ["/opt/julia", "/opt/ju lia/$(shell touch {tmp}/pwned)/$$x", "/opt/#not a comment", "generic;sandybridge,-xsaveopt,clone_all",
               "x86-64-v3", "100%", "a'b\"c", "é"]


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make not installed")
def test_make_reads_back_exactly(tmp_path):
    lines, want = [], {}
    for i, value in enumerate(v.replace("{tmp}", str(tmp_path)) for v in MAKE_VALUES):
        lines.append(f"V{i}={escape.escape_for(value, 'make')}")
        want[f"V{i}"] = value
    (tmp_path / "Make.user").write_text("\n".join(lines) + "\n")
    shows = "".join(f"$(info V{i}=[$(V{i})])\n" for i in range(len(MAKE_VALUES)))
    (tmp_path / "Makefile").write_text("include Make.user\n" + shows + "all: ;\n")
    out = subprocess.run(["make", "-s", "-C", str(tmp_path)], capture_output=True, text=True, check=True).stdout
    got = dict(line.split("=", 1) for line in out.splitlines())
    assert got == {k: f"[{v}]" for k, v in want.items()}
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("value,why", [("/opt/x\nall: evil", "control characters"), ("/opt/x\\", "backslash"),
                                       (" /opt/x", "blanks"), ("/opt/x ", "blanks"), ("/opt\\#x", "backslash")])
def test_make_refuses_what_it_cannot_hold(value, why):
    with pytest.raises(escape.EscapeError, match=why):
        escape.make(value)


# --- systemd ------------------------------------------------------------------------------------------------

def test_systemd_values():
    assert escape.systemd("/var/lib/mocha-cifar10/run") == "/var/lib/mocha-cifar10/run"
    assert escape.systemd("/srv/100%n dir") == "/srv/100%%n dir"
    for value in ("/srv/a\nExecStartPre=/bin/evil", "/srv/a\\", " /srv/a", "/srv/a\r"):
        with pytest.raises(escape.EscapeError):
            escape.systemd(value)
    assert escape.systemd_exec("/var/lib/mocha-cifar10/run/jobctl") == "/var/lib/mocha-cifar10/run/jobctl"
    assert escape.systemd_exec('/srv/a b%n"q\\') == '"/srv/a b%%n\\"q\\\\"'
    for value in ("/srv/$HOME/ctl", "/srv/a\n/ctl"):
        with pytest.raises(escape.EscapeError):
            escape.systemd_exec(value)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_reads_the_command_path_back(tmp_path):
    """systemd-analyze verify resolves ExecStart's path: the escaped one is found, the naive one is not."""
    run_dir = tmp_path / 'run dir %n "q" #x'
    run_dir.mkdir()
    ctl = run_dir / "jobctl"
    ctl.write_text("#!/bin/sh\n")
    ctl.chmod(0o755)

    def verify(exec_word):
        unit = tmp_path / "t.service"
        unit.write_text(f"[Unit]\nDescription=t\n[Service]\nType=simple\nWorkingDirectory={escape.systemd(str(run_dir))}\n"
                        f"ExecStart={exec_word} run\n")
        out = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False)
        return out.stdout + out.stderr

    assert "is not executable" not in verify(escape.systemd_exec(str(ctl))), verify(escape.systemd_exec(str(ctl)))
    assert "is not executable" in verify(f'"{ctl}"')  # unescaped, %n is expanded: another path
