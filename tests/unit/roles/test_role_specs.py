"""Every role's public interface: defaults/main.yml and meta/argument_specs.yml say the same thing.

One test over every role (roles/*): the same variable names (the defaults; the options of all entry points together,
less the required ones, which have no default),
each prefixed with the role's name and described, one spec per variable whatever the entry point, a type that the
default has (list elements included), the spec's default equal to the default, and a default within the choices.

A templated default (``{{ ... }}``) is documented: the spec gives no default, the same template, or the literal the
template falls back to, and its description says where the value comes from (the word "default", or a variable the
template reads).
"""

import re
import sys

import pytest
import yaml
from conftest import REPO

ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir())
TYPES = {"str": str, "path": str, "bool": bool, "int": int, "float": (int, float), "list": list, "dict": dict, "raw": object}


def interface(role):
    """(defaults, {entry point: options}) of a role."""
    defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return defaults, {entry: (spec or {}).get("options") or {} for entry, spec in specs.items()}


def options(role):
    """{variable: spec} over every entry point of a role."""
    merged = {}
    for opts in interface(role)[1].values():
        merged.update(opts)
    return merged


def templated(value):
    return isinstance(value, str) and "{{" in value


def type_problem(name, kind, value):
    """Why ``value`` is not of the argument spec type ``kind``; None when it is."""
    if kind not in TYPES:
        return f"{name}: type {kind!r} is not one the checks know"
    if isinstance(value, bool) and kind in ("int", "float"):
        return f"{name}: {value!r} is a bool, the spec says {kind}"
    if not isinstance(value, TYPES[kind]):
        return f"{name}: {value!r} is not a {kind}"
    return None


def test_every_role_has_an_interface():
    missing = [f"roles/{role}/{path}" for role in ROLES for path in ("defaults/main.yml", "meta/argument_specs.yml")
               if not (REPO / "roles" / role / path).is_file()]
    assert not missing, missing
    assert len(ROLES) >= 6, ROLES


@pytest.mark.parametrize("role", ROLES)
def test_same_variables(role):
    defaults, specs = interface(role)
    assert "main" in specs, f"{role}: no main entry point"
    declared = {name for name, spec in options(role).items() if not spec.get("required")}
    required = {name for name, spec in options(role).items() if spec.get("required")}
    assert set(defaults) - required == declared, {"only in defaults/main.yml": sorted(set(defaults) - declared - required),
                                                  "only in meta/argument_specs.yml": sorted(declared - set(defaults))}
    assert not required & set(defaults), f"required, yet given a default: {sorted(required & set(defaults))}"


@pytest.mark.parametrize("role", ROLES)
def test_every_variable_is_prefixed_described_and_typed(role):
    problems = []
    for name, spec in options(role).items():
        if not name.startswith(role + "_"):
            problems.append(f"{name}: not prefixed with {role}_")
        if not spec.get("description"):
            problems.append(f"{name}: no description")
        if spec.get("type") not in TYPES:
            problems.append(f"{name}: type {spec.get('type')!r}")
    assert not problems, problems


@pytest.mark.parametrize("role", ROLES)
def test_one_spec_per_variable_across_entry_points(role):
    """A variable that several entry points (tasks_from) take has the same type, default and choices in each."""
    first, problems = {}, []
    for entry, opts in interface(role)[1].items():
        for name, spec in opts.items():
            seen = first.setdefault(name, (entry, spec))
            if seen[1] != spec:
                problems.append(f"{name}: entry point {entry} differs from {seen[0]}")
    assert not problems, problems


@pytest.mark.parametrize("role", ROLES)
def test_literal_defaults_match_their_spec(role):
    defaults = interface(role)[0]
    problems = []
    for name, spec in options(role).items():
        value = defaults.get(name)
        if name not in defaults or templated(value):
            continue
        if "default" not in spec or spec["default"] != value:
            problems.append(f"{name}: defaults/main.yml says {value!r}, the spec {spec.get('default', '(no default)')!r}")
        if value is None:
            continue  # null: "not set", whatever the type
        problems.append(type_problem(name, spec.get("type"), value))
        if spec.get("type") == "list" and "elements" in spec:
            problems += [type_problem(f"{name}[{i}]", spec["elements"], item) for i, item in enumerate(value)]
        if "choices" in spec:
            chosen = value if spec.get("type") == "list" else [value]
            problems += [f"{name}: {item!r} is not one of {spec['choices']}" for item in chosen if item not in spec["choices"]]
    problems = [p for p in problems if p]
    assert not problems, problems


@pytest.mark.parametrize("role", ROLES)
def test_templated_defaults_are_documented(role):
    defaults = interface(role)[0]
    problems = []
    for name, spec in options(role).items():
        value = defaults.get(name)
        if not templated(value):
            continue
        if "default" in spec and spec["default"] != value and (templated(spec["default"]) or str(spec["default"]) not in value):
            problems.append(f"{name}: the spec's default {spec['default']!r} is not the literal {value!r} falls back to")
        read = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", " ".join(re.findall(r"{{(.*?)}}", value)))) - {"default", "true", "false"}
        description = " ".join(spec["description"]) if isinstance(spec.get("description"), list) else str(spec.get("description"))
        if "default" not in description.lower() and not any(var in description for var in read if "_" in var):
            problems.append(f"{name}: the description does not say where {value!r} comes from")
    assert not problems, problems


def test_the_checks_see_a_spec_out_of_step(tmp_path, monkeypatch):
    """A role whose spec disagrees with its defaults in each way fails each check."""
    role = tmp_path / "roles" / "demo"
    (role / "defaults").mkdir(parents=True)
    (role / "meta").mkdir()
    (role / "tasks").mkdir()
    (role / "defaults" / "main.yml").write_text(
        "demo_jobs: 2\ndemo_mode: fast\ndemo_dir: '{{ demo_root }}/x'\ndemo_flag: 1\nextra: 1\n")
    (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump({"argument_specs": {
        "main": {"options": {
            "demo_jobs": {"type": "int", "default": 3, "description": "jobs"},
            "demo_mode": {"type": "str", "default": "fast", "choices": ["slow"], "description": "mode"},
            "demo_dir": {"type": "path", "default": "{{ demo_root }}/x", "description": "where"},
            "demo_flag": {"type": "bool", "default": 1, "description": "flag"},
            "extra": {"type": "int", "default": 1, "description": "x"},
            "demo_only_spec": {"type": "str", "description": "y"},
            "demo_needed": {"type": "str", "required": True, "description": "z"}}},
        "other": {"options": {"demo_jobs": {"type": "str", "description": "jobs"}}}}}))
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    for check in (test_same_variables, test_every_variable_is_prefixed_described_and_typed, test_one_spec_per_variable_across_entry_points,
                  test_literal_defaults_match_their_spec, test_templated_defaults_are_documented):
        with pytest.raises(AssertionError) as failed:
            check("demo")
        assert "demo" in str(failed.value), check.__name__
    # A required input given a default is out of step too, even when the names agree otherwise.
    (role / "defaults" / "main.yml").write_text("demo_needed: x\n")
    (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump({"argument_specs": {"main": {"options": {
        "demo_needed": {"type": "str", "required": True, "description": "z"}}}}}))
    with pytest.raises(AssertionError, match="required, yet given a default"):
        test_same_variables("demo")
