# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters that pick a Julia release from a list of git tags.

Pure functions (text in, data out), used by the julia_build role and unit-tested directly.

Each filter is documented in its own file beside this one (plugins/filter/<filter name>.yml), which
ansible-doc reads: julia_parse_ls_remote, julia_sort_tags, julia_stable_tags, julia_nearest_tags, julia_resolve_version, julia_known_bad.
"""

import re

TAG_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z][0-9A-Za-z.]*))?$")
REQUEST_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+)(?:-([0-9A-Za-z][0-9A-Za-z.]*))?)?$")
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


def known_bad(table, version, context=None):
    """Entries of a known-bad table that match a Julia version and a host.

    ``context``: ``distribution``, ``distribution_major_version``, ``gcc_version`` ("" when unknown) and
    ``use_binarybuilder``. An entry matches when every condition it states holds; a GCC condition never matches
    an unknown GCC version.
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
            continue
        if "gcc_min" in entry and _vtuple(gcc) < _vtuple(entry["gcc_min"]):
            continue
        if "gcc_max" in entry and _vtuple(gcc) >= _vtuple(entry["gcc_max"]):
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


class FilterModule:
    """Julia version selection filters."""

    def filters(self):
        return {
            "julia_parse_ls_remote": parse_ls_remote,
            "julia_sort_tags": sort_tags,
            "julia_stable_tags": stable_tags,
            "julia_nearest_tags": nearest_tags,
            "julia_resolve_version": resolve_version,
            "julia_known_bad": known_bad,
        }
