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
# The command line is a front end that lives in the core package (DESIGN: "CLI entry");
# it may use the language and the runtime, and nothing in the core imports it.
FRONT_ENDS = {"reconcile/cli.py"}


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
    files = [f for f in sorted((ROOT / package).rglob("*.py"))
             if str(f.relative_to(ROOT)) not in FRONT_ENDS]
    assert files
    bad = {f"{f.relative_to(ROOT)} imports {m}" for f in files for m in imports_of(f) & FORBIDDEN[package]}
    assert not bad, sorted(bad)


def test_nothing_in_the_core_imports_the_front_ends():
    users = [f for f in sorted((ROOT / "reconcile").rglob("*.py"))
             if "reconcile.cli" in f.read_text() and f.name != "cli.py"]
    assert not users


def test_the_checker_sees_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import ray.util\nfrom dsl import parse\nfrom . import x\n")
    assert imports_of(f) == {"ray", "dsl"}
