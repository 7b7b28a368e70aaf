"""Every notebook of notebooks/ runs top to bottom with its own kernel (nbclient), and its cells
produce what the notebook says they do."""

import ast
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

from tests.cluster_ray.support import processes_with
from tests.reconcile.frontends.notebook.kernelspec import installed_kernel

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[2] / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_the_notebooks_are_the_four_the_docs_name():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == [
        "01-quickstart.ipynb", "02-dashboard.ipynb", "03-testing-controllers.ipynb", "04-ray-cluster.ipynb"]
    for path in NOTEBOOKS.glob("*.ipynb"):        # kept without outputs: they are made by running them
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name


def run(name: str):
    """The notebook after running it (an error in any cell fails the test), and its cells by tag."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    with installed_kernel():
        NotebookClient(nb, timeout=600, kernel_name=nb.metadata.kernelspec.name,
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    tagged = {t: c for c in nb.cells for t in c.metadata.get("tags", ())}
    for c in nb.cells:
        assert not [o for o in c.get("outputs", ()) if o.output_type == "error"], c.source
    return nb, tagged


def text(cell, kind="execute_result") -> str:
    return "\n".join(o.data["text/plain"] for o in cell.outputs if o.output_type == kind)


def rows(table: str) -> list[list[str]]:
    return [line.split() for line in table.splitlines()[1:]]


def test_01_quickstart():
    nb, cells = run("01-quickstart.ipynb")
    assert nb.metadata.kernelspec.name == "reconcile"
    assert text(cells["apply"]).splitlines()[-2:] == ["deployment.apps/web created", "service/web created"]
    pods = rows(text(cells["pods"]))
    assert len(pods) == 3 and {p[2] for p in pods} == {"Running"} and {p[1] for p in pods} == {"1/1"}
    assert {p[5] for p in pods} <= {"worker-1", "worker-2", "worker-3"}
    assert any("text/html" in o.data for o in cells["pods"].outputs)
    assert [r[1] for r in rows(text(cells["nodes"]))] == ["Ready"] * 3
    assert text(cells["again"]) == "service/web unchanged"
    assert "deployment.apps/web scaled to 5" in text(cells["scaled"], "display_data")
    assert rows(text(cells["scaled"]))[0][:2] == ["web", "5/5"]
    rolled = {r[0]: r[1] for r in rows(text(cells["rolled"]))}
    assert sorted(rolled.values()) == ["0", "5"]
    old = next(name for name, desired in rolled.items() if desired == "0")
    assert [r[0] for r in rows(text(cells["history"]))] == ["1", "2"]
    undone = {r[0]: r[1] for r in rows(text(cells["undo"]))}
    assert undone[old] == "5"                                  # back on the first template
    assert "kind: Deployment" in text(cells["describe"]) and "Events:" in text(cells["describe"])
    assert text(cells["events"]).split()[:2] == ["LAST", "SEEN"]
    assert sum(n for _, n in ast.literal_eval(text(cells["python"]))) == 5


def test_02_dashboard():
    nb, cells = run("02-dashboard.ipynb")
    [board] = [o for o in cells["dashboard"].outputs if o.output_type == "execute_result"]
    assert WIDGET_VIEW in board.data
    assert board.data["text/plain"].startswith("<reconcile dashboard: 3 nodes, 5 pods")
    pods = rows(text(cells["fail"]))
    assert len(pods) == 7 and all(p[2] == "Running" and p[5] != "worker-1" for p in pods)
    shown = ast.literal_eval(text(cells["cells"]))          # read back from the dashboard's widgets
    assert "worker-1" not in shown and sum(len(v) for v in shown.values()) == 7
    assert {s for v in shown.values() for s in v} == {"running"}
    # the widgets' state as the kernel synced it to the notebook: web's slider followed 'scale web 5'
    state = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    sliders = [m["state"] for m in state.values() if m["model_name"] == "IntSliderModel"
               and "reconcile-replicas-web" in m["state"].get("_dom_classes", ())]
    assert [s["value"] for s in sliders] == [5]


def test_03_testing_controllers():
    nb, cells = run("03-testing-controllers.ipynb")
    assert nb.metadata.kernelspec.name == "python3"
    assert ast.literal_eval(text(cells["rs-actions"])) == ["Create", "Create", "Create", "UpdateStatus"]
    assert int(text(cells["converged"])) >= 1
    placed = ast.literal_eval(text(cells["harness"]))
    assert len(placed) == 6 and all(node.startswith(zone) for node, zone in placed)
    after = ast.literal_eval(text(cells["failure"]))
    assert len(after) == 6 and "east-1" not in after
    assert int(text(cells["determinism"])) > 0


@pytest.mark.ray
@pytest.mark.slow
def test_04_ray_cluster():
    nb, cells = run("04-ray-cluster.ipynb")
    assert "connected to the Ray cluster at" in text(cells["connect"])
    nodes = rows(text(cells["nodes"]))
    assert len(nodes) == 3 and {n[1] for n in nodes} == {"Ready"}
    assert 'deployment "sleeper" successfully rolled out' in text(cells["apply"])
    pods = rows(text(cells["pods"]))
    assert len(pods) == 3 and {p[2] for p in pods} == {"Running"}
    dead = ast.literal_eval(text(cells["fail"]))
    assert dict((n[0], n[1]) for n in rows(text(cells["nodes-after"])))[dead] == "Unknown"
    after = rows(text(cells["pods-after"]))
    assert len(after) == 3 and all(p[2] == "Running" and p[5] != dead for p in after)
    assert processes_with("sleep 100000") == []            # nothing left once the notebook let go
