# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Picking a Julia release from a list of git tags, and the julia_build role's choice of method.

Pure functions (text in, data out) behind the filters of plugins/filter/julia_versions.py, unit-tested directly.

Five are filters, each documented in its own file (plugins/filter/<filter name>.yml), which ansible-doc reads:
julia_resolve_version (resolve_version), julia_select_method (select_method), julia_gcc_from_package_version
(gcc_from_package_version), julia_srccache (srccache) and julia_version_problem (request_problem). The helpers (parse_ls_remote, stable_tags, nearest_tags,
known_bad) are not filters of their own: no role calls them.
"""

import re

TAG_RE = re.compile(r"\Av?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z][0-9A-Za-z.]*))?\Z")
REQUEST_RE = re.compile(r"\Av?(\d+)\.(\d+)(?:\.(\d+)(?:-([0-9A-Za-z][0-9A-Za-z.]*))?)?\Z")
# Julia's pre-release labels, oldest first: 1.12.0-DEV < 1.12.0-alpha1 < 1.12.0-beta2 < 1.12.0-rc1 < 1.12.0
PRE_RANK = {"dev": 0, "alpha": 1, "beta": 2, "rc": 3}
LATEST_WORDS = ("latest", "stable")


class JuliaVersionError(ValueError):
    """A request or tag list that cannot be used."""


def _pre_key(pre):
    if pre is None:
        return (9, 0, "")
    m = re.match(r"^([A-Za-z]+)\.?(\d*)(.*)$", pre)
    if not m:
        return (-1, 0, pre)
    word, num, rest = m.group(1).lower(), m.group(2), m.group(3)
    return (PRE_RANK.get(word, -1), int(num) if num else 0, rest)


def parse_tag(name):
    """``v1.10.10`` -> dict with numbers, pre-release and sort key; None when it is not a version tag."""
    name = str(name).strip()
    if name.startswith("refs/tags/"):
        name = name[len("refs/tags/"):]
    if name.endswith("^{}"):
        name = name[:-3]
    m = TAG_RE.match(name)
    if not m or not name.startswith("v"):
        return None
    major, minor, patch = int(m.group(1)), int(m.group(2)), int(m.group(3))
    pre = m.group(4)
    return {
        "tag": name,
        "version": name[1:],
        "major": major,
        "minor": minor,
        "patch": patch,
        "prerelease": pre,
        "stable": pre is None,
        "key": (major, minor, patch) + _pre_key(pre),
    }


def parse_ls_remote(data):
    """Tags from ``git ls-remote --tags`` text, or a list of names / dicts.

    Returns a list of dicts ``{tag, commit}``; for annotated tags the peeled commit (``^{}`` line) wins.
    """
    if data is None:
        return []
    if isinstance(data, dict):
        data = [{"tag": k, "commit": v} for k, v in data.items()]
    if isinstance(data, str):
        lines = data.splitlines()
    else:
        lines = list(data)
    found = {}
    order = []
    for line in lines:
        if isinstance(line, dict):
            name, commit, peeled = str(line.get("tag", "")), line.get("commit"), False
        else:
            parts = str(line).split()
            if not parts:
                continue
            if len(parts) >= 2:
                commit, name = parts[0], parts[1]
            else:
                commit, name = None, parts[0]
            peeled = name.endswith("^{}")
        if name.startswith("refs/tags/"):
            name = name[len("refs/tags/"):]
        if name.endswith("^{}"):
            name = name[:-3]
        if not name:
            continue
        if name not in found:
            order.append(name)
            found[name] = commit
        elif peeled and commit:
            found[name] = commit
    return [{"tag": n, "commit": found[n]} for n in order]


def _versions(data):
    out = []
    for item in parse_ls_remote(data):
        parsed = parse_tag(item["tag"])
        if parsed:
            parsed["commit"] = item["commit"]
            out.append(parsed)
    out.sort(key=lambda p: p["key"])
    return out


def sort_tags(data, stable_only=False):
    """Version tags in version order (oldest first)."""
    return [p["tag"] for p in _versions(data) if p["stable"] or not stable_only]


def stable_tags(data):
    """Stable ``vX.Y.Z`` tags in version order (oldest first)."""
    return sort_tags(data, stable_only=True)


def parse_request(request):
    """``latest`` / ``1.10`` / ``v1.10.5`` / ``1.11.0-rc1`` -> dict(kind, major, minor, patch, prerelease)."""
    if request is None:
        raise JuliaVersionError("no Julia version requested: set julia_build_version to latest, a series (1.10) or a version (1.10.5)")
    if isinstance(request, float):
        # YAML reads an unquoted 1.10 as the float 1.1: refuse to guess.
        raise JuliaVersionError(
            f"julia_build_version is the number {request!r}, not a string: YAML reads an unquoted 1.10 as 1.1. "
            "Quote it, e.g. julia_build_version: \"1.10\""
        )
    text = str(request).strip()
    if text.lower() in LATEST_WORDS:
        return {"kind": "latest", "text": text}
    m = REQUEST_RE.match(text)
    if not m:
        raise JuliaVersionError(
            f"julia_build_version {text!r} is not a version: use latest, a series such as 1.10, "
            "or an exact version such as 1.10.5 or v1.10.5"
        )
    major, minor = int(m.group(1)), int(m.group(2))
    if m.group(3) is None:
        return {"kind": "series", "text": text, "major": major, "minor": minor}
    return {"kind": "exact", "text": text, "major": major, "minor": minor, "patch": int(m.group(3)), "prerelease": m.group(4)}


def request_problem(request):
    """Why REQUEST is not a julia_build_version the role accepts (parse_request's message), '' when it is one."""
    try:
        parse_request(request)
    except JuliaVersionError as exc:
        return str(exc)
    return ""


def nearest_tags(data, request, count=5):
    """The ``count`` stable tags closest to the request, closest first.

    Closeness: tags of the requested series first, then by distance in version order from where the request
    would sit (so a request beyond the newest release lists the newest releases).
    """
    versions = [p for p in _versions(data) if p["stable"]]
    if not versions:
        return []
    try:
        req = parse_request(request)
    except JuliaVersionError:
        req = {"kind": "latest"}
    if req["kind"] == "latest":
        return [p["tag"] for p in reversed(versions[-count:])]
    if req["kind"] == "series":
        where = (req["major"], req["minor"], float("inf"))
    else:
        where = (req["major"], req["minor"], req["patch"])
    below = [p for p in versions if p["key"][:3] < where]
    above = [p for p in versions if p["key"][:3] >= where]
    ranked = []
    for dist, p in enumerate(reversed(below)):
        ranked.append(((p["major"], p["minor"]) != (req["major"], req["minor"]), dist, 0, p["tag"]))
    for dist, p in enumerate(above):
        ranked.append(((p["major"], p["minor"]) != (req["major"], req["minor"]), dist, 1, p["tag"]))
    ranked.sort()
    return [r[3] for r in ranked[:count]]


def _result(request, kind, picked=None, nearest=None, error=None):
    res = {"request": str(request), "kind": kind, "found": picked is not None}
    if picked is not None:
        res.update({"tag": picked["tag"], "version": picked["version"], "commit": picked.get("commit") or "", "stable": picked["stable"]})
    else:
        res.update({"tag": "", "version": "", "commit": "", "nearest": nearest or [], "error": error})
    return res


def resolve_version(data, request):
    """Pick the tag a request names. Never raises for an unknown version: returns found=False with an error."""
    versions = _versions(data)
    try:
        req = parse_request(request)
    except JuliaVersionError as exc:
        return _result(request, "invalid", nearest=nearest_tags(data, "latest"), error=str(exc))
    stable = [p for p in versions if p["stable"]]
    picked = None
    if req["kind"] == "latest":
        picked = stable[-1] if stable else None
    elif req["kind"] == "series":
        series = [p for p in stable if (p["major"], p["minor"]) == (req["major"], req["minor"])]
        picked = series[-1] if series else None
    else:
        for p in versions:
            if (p["major"], p["minor"], p["patch"]) == (req["major"], req["minor"], req["patch"]) and p["prerelease"] == req["prerelease"]:
                picked = p
    if picked is not None:
        return _result(request, req["kind"], picked)
    if not versions:
        return _result(request, req["kind"], error="the repository has no version tags (vX.Y.Z); check julia_build_repo_url")
    nearest = nearest_tags(data, request)
    what = {
        "latest": "no stable vX.Y.Z tag",
        "series": "no stable tag in series {}".format(req["text"]),
        "exact": "no tag v{}".format(str(req["text"]).lstrip("v")),
    }[req["kind"]]
    msg = "Julia version {!r} not found: {}. Nearest stable tags: {}.".format(str(request), what, ", ".join(nearest) or "none")
    if req["kind"] == "series" and any((p["major"], p["minor"]) == (req["major"], req["minor"] * 10) for p in stable):
        msg += " (Did YAML turn {}0 into {}? Quote the version.)".format(req["text"], req["text"])
    msg += " Set julia_build_version to latest, one of these, or their series."
    return _result(request, req["kind"], nearest=nearest, error=msg)


def _vtuple(text):
    nums = []
    for part in str(text).split("-", maxsplit=1)[0].split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        nums.append(int(digits) if digits else 0)
    return tuple((nums + [0, 0, 0])[:3])


def known_bad(table, version, context=None, unknown_gcc="skip"):
    """Entries of a known-bad table that match a Julia version and a host.

    ``context``: ``distribution``, ``distribution_major_version``, ``gcc_version`` ("" when unknown) and
    ``use_binarybuilder``. An entry matches when every condition it states holds. With an unknown GCC version a
    GCC condition never matches (``unknown_gcc="skip"``), or always may (``unknown_gcc="match"``: the entries that
    could match once a compiler is installed).
    """
    context = context or {}
    v = _vtuple(version)
    gcc = str(context.get("gcc_version") or "")
    out = []
    for entry in table or []:
        rng = entry.get("versions") or {}
        if "min" in rng and v < _vtuple(rng["min"]):
            continue
        if "max" in rng and v >= _vtuple(rng["max"]):
            continue
        if ("gcc_min" in entry or "gcc_max" in entry) and not gcc:
            if unknown_gcc != "match":
                continue
        elif "gcc_min" in entry and _vtuple(gcc) < _vtuple(entry["gcc_min"]):
            continue
        elif "gcc_max" in entry and _vtuple(gcc) >= _vtuple(entry["gcc_max"]):
            continue
        if "distributions" in entry and context.get("distribution") not in entry["distributions"]:
            continue
        if "distribution_major_versions" in entry and str(context.get("distribution_major_version")) not in [
            str(x) for x in entry["distribution_major_versions"]
        ]:
            continue
        if "use_binarybuilder" in entry and bool(entry["use_binarybuilder"]) != bool(context.get("use_binarybuilder", True)):
            continue
        out.append(entry)
    return out


# --- build method ------------------------------------------------------------------------------------------------

METHODS = ("source", "binary", "auto")
KNOWN_BAD_ACTIONS = ("fail", "warn")


def _evidence(entry):
    ev = entry.get("evidence") or []
    return ", ".join(ev) if isinstance(ev, (list, tuple)) else str(ev)


def _host_text(ctx):
    """``GCC 12.2.0 on Debian 12``, saying where the GCC version came from when it is not installed."""
    gcc = str(ctx.get("gcc_version") or "")
    where = str(ctx.get("gcc_source") or "installed")
    if not gcc:
        comp = "no GCC on the host yet (and none the package manager names)"
    elif where == "installed":
        comp = "GCC " + gcc
    else:
        comp = f"GCC {gcc} (the gcc package {where} would install; none on the host yet)"
    dist = " ".join(str(x) for x in (ctx.get("distribution"), ctx.get("distribution_major_version")) if x)
    return comp + (" on " + dist if dist else "")


def _ids(entries):
    return ", ".join(e.get("id", "?") for e in entries)


def _known_bad_text(entries, version, ctx):
    lines = ["a source build of Julia {} with {} matches the known-bad {} {}:".format(
        version, _host_text(ctx), "entry" if len(entries) == 1 else "entries", _ids(entries))]
    for e in entries:
        lines.append("[{}] {} Evidence: {}.".format(e.get("id", "?"), str(e.get("reason", "")).strip(), _evidence(e)))
    return " ".join(lines)


def _ways_out(binary_version, version, ctx, insist=True):
    if binary_version:
        out = (f"Ways out: julia_build_method: binary (the official tarball of Julia {binary_version}, sha256-verified) or auto "
               "(which picks that binary on this host)")
    else:
        out = ("Ways out: add the sha256 of the official Julia {} tarball for {} to julia_build_binary_checksums and set "
               "julia_build_method: binary or auto; or build on a host with an older compiler".format(
                   version, ctx.get("architecture") or "this architecture"))
    return out + ("; or julia_build_known_bad_action: warn to build from source anyway." if insist else ".")


def _matched(entries, version, ctx):
    return f"known-bad entry {_ids(entries)} matches a source build of Julia {version} with {_host_text(ctx)}"


def _decision(method, version, reason, entry="", matches=None, stop=False, message=""):
    return {"method": method, "version": version or "", "reason": reason, "entry": entry, "matches": matches or [],
            "stop": stop, "message": message}


def _source(version, matches, ctx, action, binary_version, reason):
    if not matches:
        return _decision("source", version, reason)
    text = _known_bad_text(matches, version, ctx)
    if action == "fail":
        msg = (f"julia_build: {text} Stopped before anything was cloned or installed (julia_build_known_bad_action is "
               f"fail). {_ways_out(binary_version, version, ctx)}")
        return _decision("source", version, reason, matches[0]["id"], matches, True, msg)
    msg = (f"WARNING julia_build: {text} Building from source anyway, as julia_build_known_bad_action is warn: expect the "
           f"build to fail. {_ways_out(binary_version, version, ctx, insist=False)}")
    return _decision("source", version, reason, matches[0]["id"], matches, False, msg)


def select_method(requested, table, context=None, source_version="", binary_version="", action="fail", checked=True):
    """The julia_build role's choice of build method, with the reason, as a dict.

    ``requested``: ``source``, ``binary`` or ``auto``. ``table``: the known-bad entries (``checked`` false when the
    table is switched off). ``context``: as for :func:`known_bad`, plus ``gcc_source`` (``installed``, or the
    package manager whose candidate version ``gcc_version`` is) and ``architecture``. ``binary_version``: the
    version the request resolves to among those with a known sha256 ("" when none); ``source_version``: the one
    it resolves to among the git tags ("" when not resolved yet).

    Returns ``method`` (``source``, ``binary``, or "" when auto still needs ``source_version``), ``version``,
    ``reason``, ``entry`` (the deciding known-bad entry), ``matches`` (known-bad entries matching the source
    build), ``stop`` (a known-bad source build that julia_build_known_bad_action fail refuses) and ``message``
    (the error for ``stop``, else the warning for a known-bad source build that goes ahead).
    auto: the source build unless a known-bad entry matches it on this host, then the official binary when a
    sha256 is known for it. Without a compiler on the host (and none the package manager names), an entry that
    constrains GCC counts as a match when a binary is available: the binary is the safe side.
    """
    if requested not in METHODS:
        raise ValueError("julia_build_method {!r} is not one of {}".format(requested, ", ".join(METHODS)))
    if action not in KNOWN_BAD_ACTIONS:
        raise ValueError("julia_build_known_bad_action {!r} is not one of {}".format(action, ", ".join(KNOWN_BAD_ACTIONS)))
    ctx = dict(context or {})
    table = table if checked else []
    gcc = str(ctx.get("gcc_version") or "")
    if requested == "binary":
        return _decision("binary", binary_version, "julia_build_method is binary")
    if requested == "source":
        if not source_version:
            return _decision("", "", "the source version is not resolved yet")
        return _source(source_version, known_bad(table, source_version, ctx), ctx, action, binary_version,
                       "julia_build_method is source")
    # auto
    if binary_version:
        matches = known_bad(table, binary_version, ctx)
        if matches:
            return _decision("binary", binary_version, _matched(matches, binary_version, ctx)
                             + ": installing the official binary (sha256-verified) instead", matches[0]["id"])
        maybe = known_bad(table, binary_version, ctx, unknown_gcc="match") if not gcc else []
        if maybe:
            return _decision("binary", binary_version,
                             f"no GCC on the host yet and none the package manager names, and known-bad entry {_ids(maybe)} "
                             f"rules out a source build of Julia {binary_version} with some GCC versions: installing the "
                             "official binary (sha256-verified) rather than the compiler the build dependencies would bring",
                             maybe[0]["id"])
    if not source_version:
        return _decision("", "", "the source version is not resolved yet")
    matches = known_bad(table, source_version, ctx)
    if matches and binary_version:
        return _decision("binary", binary_version, _matched(matches, source_version, ctx)
                         + f": installing the official binary of Julia {binary_version} (the newest with a known sha256) instead",
                         matches[0]["id"])
    if matches:
        return _source(source_version, matches, ctx, action, "",
                       _matched(matches, source_version, ctx) + ", and no sha256 is known for an official binary of it")
    if not checked:
        return _decision("source", source_version, "julia_build_check_known_bad is false: the known-bad table is not consulted")
    if not gcc and known_bad(table, source_version, ctx, unknown_gcc="match"):
        return _decision("source", source_version,
                         f"no GCC on the host yet and no sha256 known for an official binary of Julia {source_version}: the "
                         "known-bad table is checked again once the build dependencies have installed a compiler")
    return _decision("source", source_version,
                     f"no known-bad entry matches a source build of Julia {source_version} with {_host_text(ctx)}")


def gcc_from_package_version(text):
    """The upstream GCC version in a package version: ``4:12.2.0-3`` -> ``12.2.0``; "" for none."""
    text = str(text or "").strip()
    if not text or text.startswith("("):
        return ""
    text = text.split(":", 1)[1] if re.match(r"^\d+:", text) else text
    m = re.match(r"^(\d+(?:\.\d+)*)", text)
    return m.group(1) if m else ""


# --- dependency files whose upstream URL is dead ----------------------------------------------------------------

HEX = re.compile(r"^[0-9a-f]+$")


def srccache(table, version, extra=None):
    """Entries of the srccache table that cover a Julia version, ``extra`` entries replacing shipped ones by file.

    Returns ``{"entries": [...], "errors": [...]}``; an entry needs ``file`` (a plain file name), a non-empty
    ``mirrors`` list and a ``sha256`` (64 hex digits); ``sha512`` (128 hex digits) is optional.
    """
    merged = {}
    order = []
    errors = []
    for where, entries in (("files/tables/srccache.yml", table or []), ("julia_build_srccache_extra", extra or [])):
        if not isinstance(entries, (list, tuple)):
            errors.append(f"{where} must be a list of entries, got {entries!r}")
            continue
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("file"):
                errors.append(f"{where}: every entry needs a file name, got {entry!r}")
                continue
            name = str(entry["file"])
            if name not in merged:
                order.append(name)
            merged[name] = dict(entry, origin=where)
    out = []
    for name in order:
        entry = merged[name]
        problems = []
        if "/" in name or name in (".", ".."):
            problems.append("file must be a plain file name")
        mirrors = entry.get("mirrors")
        if not isinstance(mirrors, (list, tuple)) or not mirrors or not all(isinstance(m, str) and m for m in mirrors):
            problems.append("mirrors must be a non-empty list of URLs")
        sha256 = str(entry.get("sha256") or "").lower()
        if len(sha256) != 64 or not HEX.match(sha256):
            problems.append("sha256 must be 64 hex digits")
        sha512 = str(entry.get("sha512") or "").lower()
        if sha512 and (len(sha512) != 128 or not HEX.match(sha512)):
            problems.append("sha512, when given, must be 128 hex digits")
        if problems:
            errors.append("{} entry {}: {}".format(entry["origin"], name, "; ".join(problems)))
            continue
        rng = entry.get("versions") or {}
        v = _vtuple(version)
        if "min" in rng and v < _vtuple(rng["min"]):
            continue
        if "max" in rng and v >= _vtuple(rng["max"]):
            continue
        out.append(dict(entry, sha256=sha256, sha512=sha512, mirrors=list(mirrors)))
    return {"entries": out, "errors": errors}
