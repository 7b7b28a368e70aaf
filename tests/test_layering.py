"""The architecture is checked by a tool: import-linter's contracts in ``pyproject.toml``.

front ends -> cluster_ray -> sim -> controlplane -> controllers -> scheduler -> engine -> state -> api;
dsl -> api; only cluster_ray imports ray; a ``_private`` module is imported only within its package;
no import cycles between the modules of a package. ``lint-imports`` runs over the tree as it is,
and over copies with one bad import added, which it must refuse.
"""

import importlib
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("reconcile", "dsl", "cluster_ray")


def lint_imports(root: pathlib.Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with ``root``'s pyproject.toml, its packages first on the path."""
    return subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                           "sys.exit(lint_imports_command())", "--no-cache"],
                          cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold():
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Contracts: 6 kept, 0 broken." in run.stdout


@pytest.fixture(scope="module")
def copy_of_the_tree(tmp_path_factory):
    """The three packages and pyproject.toml, copied so that a bad import can be added to them."""
    root = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize("module, line, broken", [
    ("reconcile/api/model.py", "import ray", "Only cluster_ray imports ray"),
    ("reconcile/controllers/gc.py", "import ray.util", "Only cluster_ray imports ray"),
    ("reconcile/state/store.py", "import reconcile.engine", "Layers:"),
    ("reconcile/controllers/job.py", "import reconcile.sim", "Layers:"),
    ("reconcile/sim/kubelet.py", "import cluster_ray.runtime", "Layers:"),
    ("dsl/_check.py", "import reconcile.state.store", "The language stands on the object model only"),
    ("reconcile/sim/__init__.py", "import dsl", "The control plane and the runtime do not read the language"),
    ("cluster_ray/up.py", "import dsl._format", "A _private module is imported only from within its own package"),
    ("reconcile/sim/kubelet.py", "import reconcile.controlplane", None),     # an allowed import: kept
    ("reconcile/api/validation.py", "import reconcile.api.labels", "No import cycles"),
], ids=lambda v: v if isinstance(v, str) and "/" in v else None)
def test_a_bad_import_breaks_a_contract(copy_of_the_tree, module, line, broken):
    path = copy_of_the_tree / module
    before = path.read_text()
    try:
        path.write_text(before + f"\n{line}  # added by the test\n")
        run = lint_imports(copy_of_the_tree)
    finally:
        path.write_text(before)
    if broken is None:
        assert run.returncode == 0, run.stdout + run.stderr
        return
    assert run.returncode != 0 and "Broken contracts" in run.stdout, run.stdout + run.stderr
    report = run.stdout.split("Broken contracts", 1)[1]
    name = module.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
    assert broken in report and (name in report or "." + name.rsplit(".", 1)[1] + " ->" in report), report


def test_the_root_holds_few_modules_and_every_package_says_what_it_exports():
    """``reconcile/`` keeps only what belongs to no layer at its root; each package has a public face."""
    assert sorted(p.name for p in (ROOT / "reconcile").glob("*.py")) == ["__init__.py", "pytest_plugin.py"]
    packages = sorted({p.parent for package in PACKAGES for p in (ROOT / package).rglob("__init__.py")})
    assert len(packages) >= 12
    for folder in packages:
        name = ".".join(folder.relative_to(ROOT).parts)
        module = importlib.import_module(name)
        assert isinstance(getattr(module, "__all__", None), list), f"{name} has no __all__"
        assert (module.__doc__ or "").strip(), f"{name} does not say what it is for"
        for export in module.__all__:
            assert hasattr(module, export), f"{name}.__all__ names {export!r}, which it does not have"
