"""Dependencies point one way: the rules of which module_utils may import which, read from the source (ast).

A parser of Mocha's log is not a job supervisor's business, the Julia package module builds on the escaping rules
(not the reverse), the sweep needs the name rule and not the AWS guards, and a filter is a thin mapping onto
module_utils where its rules live and are tested."""

import ast

import pytest
from conftest import REPO

UTILS = REPO / "plugins" / "module_utils"
FILTERS = REPO / "plugins" / "filter"
PREFIX = "ansible_collections.mocha.cloud.plugins.module_utils"

# (module, a module it must not import): why, in the module docstring above.
FORBIDDEN = [
    ("job", "mocha_log"),
    ("escape", "julia_pkg"),
    ("sweep", "aws_guard"),
    ("sweep", "aws_results"),
    ("autodown", "aws_guard"),
]
# The statements (docstring left out) a filter function may hold: a few checks of its input and the call into
# module_utils. The filters below still hold their rules; the list only shrinks.
FILTER_STATEMENTS_MAX = 8
FILTER_LOGIC_ALLOWED = {("files_to_write.py", "files_to_write"), ("packages.py", "missing_packages")}


def collection_imports(path):
    """The collection's module_utils that PATH imports, by name (any form: import, from ... import, in a try)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.startswith(PREFIX + "."):
                module = name[len(PREFIX) + 1:].split(".")[0]
                if (UTILS / f"{module}.py").is_file():
                    found.add(module)
    return found


def graph():
    return {p.stem: collection_imports(p) for p in sorted(UTILS.glob("*.py")) if p.stem != "__init__"}


def test_imports_are_read_in_every_form(tmp_path):
    """The reader itself: a forbidden import spelled any way is seen (or the rules below could never fail)."""
    sample = tmp_path / "sample.py"
    sample.write_text(f"import os\nfrom {PREFIX}.mocha_log import format_duration\nfrom {PREFIX} import escape as e\n"
                      f"try:\n    import {PREFIX}.aws_guard\nexcept ImportError:\n    import aws_guard\n")
    assert collection_imports(sample) == {"mocha_log", "escape", "aws_guard"}


@pytest.mark.parametrize(("module", "forbidden"), FORBIDDEN)
def test_forbidden_imports(module, forbidden):
    imports = graph()
    seen, todo = set(), [module]
    while todo:  # what it imports, directly or through another module
        for dep in imports[todo.pop()] - seen:
            seen.add(dep)
            todo.append(dep)
    assert forbidden not in seen, f"module_utils/{module}.py imports {forbidden} (directly or through another module)"


def test_module_utils_import_no_cycle():
    imports = graph()
    state = {}

    def visit(module, path):
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", "import cycle: " + " -> ".join(path + [module])
        state[module] = "open"
        for dep in sorted(imports[module]):
            visit(dep, path + [module])
        state[module] = "done"

    for module in imports:
        visit(module, [])


def test_names_is_a_leaf():
    """The shared name rule imports nothing of the collection, so anything may import it."""
    assert graph()["names"] == set()


def _logic_statements(function):
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return sum(1 for stmt in body for node in ast.walk(stmt) if isinstance(node, ast.stmt))


def test_filters_are_thin():
    heavy = []
    for path in sorted(FILTERS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef) and _logic_statements(node) > FILTER_STATEMENTS_MAX:
                heavy.append((path.name, node.name))
    assert set(heavy) <= FILTER_LOGIC_ALLOWED, (
        f"filters holding logic (more than {FILTER_STATEMENTS_MAX} statements): "
        f"{sorted(set(heavy) - FILTER_LOGIC_ALLOWED)}; put the rule in plugins/module_utils and call it")
    assert not FILTER_LOGIC_ALLOWED - set(heavy), (
        f"{sorted(FILTER_LOGIC_ALLOWED - set(heavy))} are thin now: take them off FILTER_LOGIC_ALLOWED")


def test_julia_versions_filter_maps_onto_module_utils():
    assert collection_imports(FILTERS / "julia_versions.py") == {"julia_versions"}
