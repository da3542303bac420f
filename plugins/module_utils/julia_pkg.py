# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure helpers for driving Julia's package manager (both generations).

Everything here is text in, text or dict out, so it can be unit-tested without Julia:

* validation of user input (package names, versions, git URLs and revisions);
* :func:`julia_str`, a Python string as a Julia string literal (the rule lives in escape.py, beside the other formats);
* :func:`parse_julia_version` and :func:`pkg_generation` (``julia --version`` -> "legacy" or "pkg3");
* builders for the Julia programs the modules run (:func:`build_program` and friends);
* :func:`parse_report`, which reads the one-line answer those programs print.

Protocol: every generated program ends by printing exactly one line that starts with
:data:`MARKER` followed by a JSON object. It is built with plain string concatenation in Julia
(JSON.jl may be absent), escaping strings with a helper defined in the program itself.
"""

import json
import os
import re

from ansible_collections.mocha.cloud.plugins.module_utils import escape
from ansible_collections.mocha.cloud.plugins.module_utils.julia_runtime import UNSET, system_ca_store

MARKER = "MOCHA_CLOUD_JSON "

# Julia package names: an identifier, conventionally starting with a capital letter (General's
# rules); we accept any ASCII identifier without the ".jl" suffix.
NAME_RE = re.compile(r"\A[A-Za-z][A-Za-z0-9_]{0,99}\Z")
# Versions: X.Y.Z with optional pre-release/build parts, optional leading "v".
VERSION_RE = re.compile(r"\Av?(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:-([0-9A-Za-z.-]{1,64}))?(?:\+([0-9A-Za-z.-]{1,64}))?\Z")
# Git revisions: branch, tag or commit names (a conservative subset of git check-ref-format).
REV_RE = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9._/+-]{0,199}\Z")
URL_SCHEMES = ("https", "http", "git", "ssh", "file")
URL_RE = re.compile(r"\A(?P<scheme>[a-z][a-z0-9+.-]*)://[^\s]+\Z")
SCP_RE = re.compile(r"\A[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+\Z")

JULIA_VERSION_RE = re.compile(r"julia version (\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?")

LEGACY = "legacy"
PKG3 = "pkg3"


class JuliaPkgError(ValueError):
    """Raised for bad input or unusable output; the message says what and how to fix it."""


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
def validate_name(name):
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise JuliaPkgError(
            f"invalid Julia package name {name!r}: use the bare package name, an ASCII identifier such as "
            "'Mocha' or 'HDF5' (no '.jl' suffix, no spaces or quotes)"
        )
    return name


def normalize_version(version):
    """Return the version without a leading 'v' ('v0.3.1' -> '0.3.1'), or raise."""
    if not isinstance(version, str) or not VERSION_RE.match(version):
        raise JuliaPkgError(
            f"invalid version {version!r}: give a full version number such as '0.3.1' or 'v0.3.1'"
        )
    return version[1:] if version.startswith("v") else version


def next_patch(version):
    """'0.3.1' -> '0.3.2': the exclusive upper bound that pins a legacy Pkg.add to one version."""
    m = VERSION_RE.match(version)
    if not m:
        raise JuliaPkgError(f"invalid version {version!r}")
    return f"{m.group(1)}.{m.group(2)}.{int(m.group(3)) + 1}"


def validate_url(url):
    if not isinstance(url, str) or not url or len(url) > 1000:
        raise JuliaPkgError(f"invalid url {url!r}: give a git URL such as https://github.com/owner/Name.jl.git")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url) or url.startswith("-"):
        raise JuliaPkgError(f"invalid url {url!r}: it contains control characters or starts with '-'")
    m = URL_RE.match(url)
    if m:
        if m.group("scheme") not in URL_SCHEMES:
            raise JuliaPkgError(
                "invalid url {!r}: scheme {!r} is not one of {}".format(url, m.group("scheme"), ", ".join(URL_SCHEMES))
            )
        return url
    if url.startswith("/") and not re.search(r"\s", url):
        return url
    if SCP_RE.match(url):
        return url
    raise JuliaPkgError(
        "invalid url {!r}: use an absolute path, user@host:path, or one of the schemes {}".format(url, ", ".join(URL_SCHEMES))
    )


def validate_rev(rev):
    if (
        not isinstance(rev, str)
        or not REV_RE.match(rev)
        or ".." in rev
        or "//" in rev
        or rev.endswith((".lock", "/", "."))
        or "@{" in rev
    ):
        raise JuliaPkgError(
            f"invalid rev {rev!r}: give a branch, tag or commit name such as 'master', 'v0.3.1' or a sha"
        )
    return rev


# ---------------------------------------------------------------------------------------------
# Julia literals
# ---------------------------------------------------------------------------------------------
def julia_str(value):
    """Return a Julia string literal whose value is exactly ``value``: escape.julia_str, the one rule (backslash,
    double quote and ``$`` escaped, everything outside printable ASCII as ``\\UXXXXXXXX``), with JuliaPkgError for
    a value that is not a str."""
    try:
        return escape.julia_str(value)
    except escape.EscapeError as exc:
        raise JuliaPkgError(str(exc)) from None


def julia_str_vector(values):
    return "String[" + ", ".join(julia_str(v) for v in values) + "]"


# ---------------------------------------------------------------------------------------------
# Versions and generations
# ---------------------------------------------------------------------------------------------
def parse_julia_version(text):
    """Parse ``julia --version`` output ('julia version 0.6.4') into (major, minor, patch, text)."""
    m = JULIA_VERSION_RE.search(text or "")
    if not m:
        raise JuliaPkgError(
            "could not read a version from `julia --version` output {!r}; is the julia option a Julia binary?".format((text or "").strip()[:200])
        )
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(0)[len("julia version "):]


def pkg_generation(version_tuple):
    """Which package manager a Julia version has: 'legacy' (0.4-0.6, Pkg2) or 'pkg3' (0.7, 1.x)."""
    major, minor = version_tuple[0], version_tuple[1]
    if (major, minor) < (0, 4):
        raise JuliaPkgError(f"Julia {major}.{minor} is too old: its package manager is not supported (need 0.4 or later)")
    if (major, minor) <= (0, 6):
        return LEGACY
    return PKG3


def version_options(text=None):
    """Return the julia options the modules use for every run (no startup file, no colour)."""
    return ["--startup-file=no", "--color=no"]


# ---------------------------------------------------------------------------------------------
# Program builders
# ---------------------------------------------------------------------------------------------
# Helpers shared by both generations: _mc_q quotes a string as JSON. Control characters are
# written as \u00XX with a generation-specific hex function.
_PRELUDE_COMMON = r'''
const _MC_MARKER = "MOCHA_CLOUD_JSON "
function _mc_q(s)
    io = IOBuffer()
    print(io, '"')
    for c in string(s)
        if c == '"'
            print(io, "\\\"")
        elseif c == '\\'
            print(io, "\\\\")
        elseif UInt32(c) < 0x20
            print(io, "\\u", _mc_hex4(UInt32(c)))
        else
            print(io, c)
        end
    end
    print(io, '"')
    return String(take!(io))
end
function _mc_git(p, args...)
    try
        return strip(_mc_read(`git -C $p $(collect(args))`))
    catch
        return ""
    end
end
function _mc_free(name)
    try
        Pkg.free(name)
    catch
    end
end
function _mc_pkgjson(name, version, path, rev)
    head = (path != "" && isdir(joinpath(path, ".git"))) ? _mc_git(path, "rev-parse", "HEAD") : ""
    branch = head == "" ? "" : _mc_git(path, "symbolic-ref", "-q", "--short", "HEAD")
    url = head == "" ? "" : _mc_git(path, "config", "--get", "remote.origin.url")
    revhead = (head == "" || rev == "") ? "" : _mc_git(path, "rev-parse", "-q", "--verify", string(rev, "^{commit}"))
    return string(_mc_q(name), ":{\"version\":", _mc_q(version), ",\"path\":", _mc_q(path),
                  ",\"head\":", _mc_q(head), ",\"branch\":", _mc_q(branch), ",\"url\":", _mc_q(url),
                  ",\"rev_head\":", _mc_q(revhead), "}")
end
'''

_PRELUDE_LEGACY = r'''
_mc_hex4(u) = hex(u, 4)
_mc_read(cmd) = readstring(cmd)
_mc_ready() = isdir(joinpath(Pkg.dir(), "METADATA"))
function _mc_init()
    _mc_ready() || Pkg.init()
end
function _mc_checkout_rev(name, rev)
    p = Pkg.dir(name)
    if success(`git -C $p show-ref --verify --quiet refs/remotes/origin/$rev`)
        Pkg.checkout(name, rev)
    else
        run(`git -C $p checkout -q -B $(string("pinned.", rev)) $rev`)
    end
end
function _mc_report(names, rev)
    # With JULIA_PKGDIR set, Pkg refuses to run before Pkg.init(): nothing is installed yet then.
    inst = _mc_ready() ? Pkg.installed() : Dict{String,VersionNumber}()
    parts = String[]
    for name in sort(collect(keys(inst)))
        if names === nothing || name in names
            push!(parts, _mc_pkgjson(name, string(inst[name]), Pkg.dir(name), rev))
        end
    end
    println(_MC_MARKER, "{\"julia\":", _mc_q(string(VERSION)), ",\"generation\":\"legacy\",\"initialized\":",
            _mc_ready() ? "true" : "false", ",\"packages\":{", join(parts, ","), "}}")
end
'''

_PRELUDE_PKG3 = r'''
using Pkg
_mc_hex4(u) = string(u, base=16, pad=4)
_mc_read(cmd) = read(cmd, String)
function _mc_report(names, rev)
    parts = String[]
    if isdefined(Pkg, :dependencies)
        for (uuid, info) in Pkg.dependencies()
            info.is_direct_dep || continue
            if names === nothing || info.name in names
                v = info.version === nothing ? "" : string(info.version)
                src = info.source === nothing ? "" : info.source
                gitrev = info.git_revision === nothing ? "" : info.git_revision
                gitsrc = info.git_source === nothing ? "" : info.git_source
                push!(parts, string(_mc_pkgjson(info.name, v, src, "")[1:end-1],
                                    ",\"git_revision\":", _mc_q(gitrev), ",\"git_source\":", _mc_q(gitsrc), "}"))
            end
        end
    else
        inst = Pkg.installed()
        for name in sort(collect(keys(inst)))
            if names === nothing || name in names
                f = Base.find_package(name)
                p = f === nothing ? "" : dirname(dirname(f))
                v = inst[name] === nothing ? "" : string(inst[name])
                push!(parts, _mc_pkgjson(name, v, p, ""))
            end
        end
    end
    println(_MC_MARKER, "{\"julia\":", _mc_q(string(VERSION)), ",\"generation\":\"pkg3\",\"initialized\":true,",
            "\"packages\":{", join(parts, ","), "}}")
end
'''


def prelude(generation):
    if generation == LEGACY:
        return _PRELUDE_LEGACY + _PRELUDE_COMMON
    if generation == PKG3:
        return _PRELUDE_PKG3 + _PRELUDE_COMMON
    raise JuliaPkgError(f"unknown package manager generation {generation!r}")


def report_call(names=None, rev=""):
    """The top-level call that prints the answer line (names=None: every installed package)."""
    names_lit = "nothing" if names is None else julia_str_vector([validate_name(n) for n in names])
    return "_mc_report({}, {})".format(names_lit, julia_str(rev or ""))


def _spec(name, **kw):
    parts = [f"name={julia_str(name)}"]
    for key in ("version", "url", "rev"):
        if kw.get(key):
            parts.append(f"{key}={julia_str(kw[key])}")
    return "Pkg.PackageSpec({})".format(", ".join(parts))


def _legacy_add(name, version, url, rev):
    if url:
        stmts = [f"Pkg.clone({julia_str(url)}, {julia_str(name)})"]
        if rev:
            stmts.append(f"_mc_checkout_rev({julia_str(name)}, {julia_str(rev)})")
        stmts.append("Pkg.resolve()")
        return stmts
    if version:
        return [
            f"Pkg.add({julia_str(name)}, VersionNumber({julia_str(version)}), VersionNumber({julia_str(next_patch(version))}))",
            f"Pkg.pin({julia_str(name)}, VersionNumber({julia_str(version)}))",
        ]
    stmts = [f"Pkg.add({julia_str(name)})"]
    if rev:
        stmts.append(f"Pkg.checkout({julia_str(name)}, {julia_str(rev)})")
    return stmts


def add_statements(generation, name, version=None, url=None, rev=None):
    """Statements that install ``name`` (at ``version``, or from ``url`` at ``rev``).

    On the old package manager they start with ``_mc_init()`` (Pkg.init() when METADATA is missing:
    with JULIA_PKGDIR set, Pkg refuses to do anything before it).
    """
    validate_name(name)
    if version:
        version = normalize_version(version)
    if url:
        validate_url(url)
    if rev:
        validate_rev(rev)
    if generation == LEGACY:
        return ["_mc_init()"] + _legacy_add(name, version, url, rev)
    if generation == PKG3:
        if url:
            return [f"Pkg.add({_spec(name, url=url, rev=rev)})"]
        if version:
            return [
                f"Pkg.add({_spec(name, version=version)})",
                f"Pkg.pin({_spec(name, version=version)})",
            ]
        return [f"Pkg.add({_spec(name, rev=rev)})"]
    raise JuliaPkgError(f"unknown package manager generation {generation!r}")


def init_statements(generation):
    """Statements that initialize the package directory: Pkg.init() (a METADATA.jl clone) on the old package manager,
    nothing on the new one (its registry comes with the first add)."""
    return ["_mc_init()"] if generation == LEGACY else []


def is_initialized(report):
    """Whether a parsed report says the package directory is ready (legacy: METADATA is there)."""
    return bool(report.get("initialized", True))


def rm_statements(generation, name):
    validate_name(name)
    if generation == LEGACY:
        return [f"Pkg.rm({julia_str(name)})"]
    return [f"Pkg.rm({_spec(name)})"]


def update_statements(generation, name):
    """Unpin (when pinned: _mc_free ignores Pkg.free's complaint about an unpinned package), then update."""
    validate_name(name)
    return [f"_mc_free({julia_str(name)})", f"Pkg.update({julia_str(name)})"]


def build_statements(generation, name):
    validate_name(name)
    return [f"Pkg.build({julia_str(name)})"]


def test_statements(generation, name):
    validate_name(name)
    return [f"Pkg.test({julia_str(name)})"]


def build_program(generation, statements, report_names=None, report_rev="", report=True):
    """Assemble prelude + top-level statements (one per line, column 0) + the report call."""
    lines = [prelude(generation).strip("\n")]
    lines.extend(statements)
    if report:
        lines.append(report_call(report_names, report_rev))
    return "\n".join(lines) + "\n"


def env_file_text(environment, unset=()):
    """A shell file of ``export NAME='value'`` lines (and ``unset`` lines) for a Julia run started by a supervisor."""
    lines = ["# The environment of one Julia package manager run (mocha.cloud.julia_package, program_file)."]
    for name in sorted(environment):
        if not re.match(r"\A[A-Za-z_][A-Za-z0-9_]*\Z", str(name)):
            raise JuliaPkgError(f"invalid environment variable name {name!r}")
        value = str(environment[name]).replace("'", "'\\''")
        lines.append(f"export {name}='{value}'")
    lines.extend(f"unset {name}" for name in unset)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Protocol parsing
# ---------------------------------------------------------------------------------------------
def parse_report(text):
    """Find the marker line in ``text`` and return its JSON object (the last one wins)."""
    found = None
    for line in (text or "").splitlines():
        if line.startswith(MARKER):
            found = line[len(MARKER):]
    if found is None:
        raise JuliaPkgError(f"Julia printed no {MARKER.strip()!r} line; the package manager did not finish")
    try:
        data = json.loads(found)
    except ValueError as exc:
        raise JuliaPkgError(f"could not parse Julia's answer {found[:300]!r}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("packages"), dict):
        raise JuliaPkgError(f"Julia's answer has no 'packages' object: {found[:300]!r}")
    return data


def package_state(report, name):
    """The entry for ``name`` in a parsed report, or None when it is not installed."""
    return report["packages"].get(name)


def clean_version(version):
    """Pkg2 reports unregistered or branch checkouts as '0.3.1+' or '0.0.0-'; keep them readable."""
    return version or ""


def output_tail(text, lines=40, chars=6000):
    """The last ``lines`` lines of ``text`` (at most ``chars`` characters), for test reports."""
    tail = "\n".join((text or "").rstrip("\n").splitlines()[-lines:])
    return tail[-chars:]


def plan(state, current, version=None, url=None, rev=None, generation=LEGACY):
    """Decide what to do: returns one of 'none', 'add', 'reinstall', 'checkout', 'update', 'rm'.

    ``current`` is the package's report entry (None when absent). For url installs, the package
    is up to date when its origin URL matches and HEAD is the commit ``rev`` names (and, on the
    legacy package manager, HEAD sits on a branch); for pkg3 entries git_source/git_revision
    are compared instead.
    """
    if state == "absent":
        return "rm" if current else "none"
    if current is None:
        return "add"
    if state == "latest":
        return "update"
    if url:
        if generation == PKG3 and "git_source" not in current:
            return "none"  # Julia 0.7 to 1.3 cannot say where an installed package came from
        if "git_source" in current:
            if current.get("git_source") != url or (rev and current.get("git_revision") != rev):
                return "reinstall"
            return "none"
        if current.get("url") and current.get("url") != url:
            return "reinstall"
        if rev and (not current.get("rev_head") or current.get("rev_head") != current.get("head")):
            return "checkout"
        if rev and current.get("head") and not current.get("branch"):
            return "checkout"
        return "none"
    if version:
        have = (current.get("version") or "").split("+")[0]
        if have != normalize_version(version):
            return "add"
        if current.get("head") and not current.get("branch") and "git_source" not in current:
            return "add"  # legacy checkout on a detached HEAD: add + pin puts it on a pin branch
        return "none"
    if rev and current.get("branch", "") != rev and current.get("git_revision", rev) != rev:
        return "checkout"
    return "none"


# ---------------------------------------------------------------------------------------------
# Running julia (the only part here that touches the system; modules pass their AnsibleModule)
# ---------------------------------------------------------------------------------------------
class JuliaRunner:
    """Runs generated programs with one julia binary and environment."""

    def __init__(self, module, julia, environment):
        self.module = module
        self.julia = julia
        self.env = dict((str(k), str(v)) for k, v in (environment or {}).items())
        self.env.setdefault("LC_ALL", "C")
        # Julia 0.6/0.7's libgit2 trusts only its own 2018 cert.pem unless told where the system's store is: every
        # Pkg call gets the host's CA bundle, unless the caller named one. Never SSL_CERT_DIR (0.6 prefers it, and
        # aborts at start when the directory holds a dangling link): not given, and not inherited either.
        ca_file = system_ca_store()
        if ca_file:
            self.env.setdefault("SSL_CERT_FILE", ca_file)
        for name in UNSET:
            self.env.pop(name, None)
            os.environ.pop(name, None)

    def run(self, args, check_rc=False):
        rc, out, err = self.module.run_command([self.julia] + args, environ_update=self.env, check_rc=False)
        if check_rc and rc != 0:
            self.module.fail_json(
                msg=f"{self.julia} {args[0] if args else ''} failed (rc={rc}): {(err or out).strip()[-2000:]}",
                rc=rc, stdout=out, stderr=err,
            )
        return rc, out, err

    def version(self):
        rc, out, err = self.run(["--version"])
        if rc != 0:
            self.module.fail_json(
                msg=f"`{self.julia} --version` failed (rc={rc}); set the julia option to a working Julia binary",
                rc=rc, stdout=out, stderr=err,
            )
        try:
            major, minor, _patch, text = parse_julia_version(out + err)
            return text, pkg_generation((major, minor))
        except JuliaPkgError as exc:
            self.module.fail_json(msg=str(exc), rc=rc, stdout=out, stderr=err)

    def program(self, generation, statements, names, rev="", what="julia"):
        code = build_program(generation, statements, names, rev)
        rc, out, err = self.run(version_options(None) + ["-e", code])
        if rc != 0:
            self.module.fail_json(
                msg=f"{what} failed (rc={rc}): {((err or '') + (out or '')).strip()[-2000:]}",
                rc=rc, stdout=out, stderr=err, julia_code=code,
            )
        try:
            return parse_report(out)
        except JuliaPkgError as exc:
            self.module.fail_json(msg=f"{what}: {exc}", rc=rc, stdout=out, stderr=err, julia_code=code)


def resolve_julia(module, julia):
    if os.path.isabs(julia):
        if not os.access(julia, os.X_OK):
            module.fail_json(msg=f"julia {julia} is not an executable file; point the julia option at the Julia binary")
        return julia
    return module.get_bin_path(julia, required=True)
