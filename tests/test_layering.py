"""The dependency direction is one way: front ends -> cluster_ray -> reconcile; dsl -> reconcile.

Only cluster_ray imports ray; the core imports neither the language nor the runtime.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "reconcile": {"dsl", "cluster_ray", "ray"},
    "dsl": {"cluster_ray", "ray"},
    "cluster_ray": {"dsl"},
}
# The command line and the notebook front ends (kernel, magics, widgets) live in the core
# package (DESIGN: "CLI entry"; front ends in "a sub-package of their own"); they may use the
# language and the runtime, and nothing in the core imports them.
FRONT_ENDS = ("reconcile/cli.py", "reconcile/notebook/")


def _front_end(path: pathlib.Path) -> bool:
    rel = str(path.relative_to(ROOT))
    return rel == FRONT_ENDS[0] or rel.startswith(FRONT_ENDS[1])


def imports_of(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_go_one_way(package):
    files = [f for f in sorted((ROOT / package).rglob("*.py")) if not _front_end(f)]
    assert files
    bad = {f"{f.relative_to(ROOT)} imports {m}" for f in files for m in imports_of(f) & FORBIDDEN[package]}
    assert not bad, sorted(bad)


def test_nothing_in_the_core_imports_the_front_ends():
    """Only ``load_ipython_extension`` (what ``%load_ext reconcile`` calls) reaches the magics,
    and only when it is called."""
    users = []
    for f in sorted((ROOT / "reconcile").rglob("*.py")):
        if _front_end(f):
            continue
        tree = ast.parse(f.read_text(), str(f))
        allowed = {id(n) for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef)
                   and fn.name in ("load_ipython_extension", "unload_ipython_extension") for n in ast.walk(fn)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                    ("reconcile.frontends.cli", "reconcile.frontends.notebook")) and id(node) not in allowed:
                users.append(f"{f.relative_to(ROOT)}: from {node.module}")
            if isinstance(node, ast.Import) and any(a.name.startswith(("reconcile.frontends.cli", "reconcile.frontends.notebook"))
                                                    for a in node.names):
                users.append(f"{f.relative_to(ROOT)}: import")
    assert not users


def test_the_checker_sees_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import ray.util\nfrom dsl import parse\nfrom . import x\n")
    assert imports_of(f) == {"ray", "dsl"}
