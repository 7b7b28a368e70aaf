"""The dashboard, kernel-side: its controls go through the Session, and it follows the cluster by itself."""

import pytest

from reconcile.api.model import Pod
from reconcile.frontends.notebook.session import Session
from reconcile.frontends.notebook.widgets import PENDING, Dashboard, node_status, pod_state

CLUSTER = """
deployment web {
  replicas 3
  labels app=web
  container main { command python -m http.server }
}
statefulset kv {
  replicas 2
  labels app=kv
  container main { command python -m kv }
}
"""


@pytest.fixture
def session():
    s = Session()
    s.run(CLUSTER)
    return s


@pytest.fixture
def dash(session):
    d = session.run("dashboard")
    yield d
    d.close()


def web_cells(d):
    return {name: v for name, v in d.pod_cells().items() if name.startswith("web-")}


def running(session, selector):
    return [p for p in session.store.list("Pod", None, selector) if p.status.get("phase") == "Running"
            and p.metadata.deletionTimestamp is None]


def web_replicasets(session):
    return sorted(session.store.list("ReplicaSet", None, "app=web"), key=lambda r: r.name)


# -- what it shows

def test_the_dashboard_command_shows_every_pod_on_its_node(session, dash):
    assert isinstance(dash, Dashboard)
    placed = {p.name: (p.spec["nodeName"], "running") for p in session.store.list("Pod")}
    assert dash.pod_cells() == placed
    assert dash.node_status() == {"node-1": "Ready", "node-2": "Ready", "node-3": "Ready"}
    assert set(dash.sliders) == {"web", "kv"}
    assert dash.sliders["web"].value == 3 and dash.sliders["kv"].value == 2
    assert "ScalingReplicaSet" in dash.events_html.value


def test_widgets_carry_stable_css_classes(dash):
    assert "reconcile-dashboard" in dash._dom_classes
    assert {"reconcile-replicas", "reconcile-replicas-web"} <= set(dash.sliders["web"]._dom_classes)
    cells = list(dash._cells.values())
    assert cells and all({"reconcile-pod", "reconcile-pod-running"} <= set(c._dom_classes) for c in cells)
    columns = [c.box for c in dash._columns.values()]
    assert all("reconcile-node" in c._dom_classes for c in columns)
    assert "reconcile-node-node-1" in dash._columns["node-1"].box._dom_classes
    assert "reconcile-fail-node-2" in dash.node_buttons["node-2"]["fail"]._dom_classes


def test_a_pod_no_node_can_take_is_in_the_pending_column(session, dash):
    session.run("deployment big {\n  replicas 1\n  labels app=big\n"
                "  container main {\n    command serve\n    requests cpu=64\n  }\n}")
    (name,) = [n for n in dash.pod_cells() if n.startswith("big-")]
    assert dash.pod_cells()[name] == (PENDING, "pending")
    assert "1 pods" in dash._pending.header.value


# -- it follows the cluster

def test_a_cell_changes_when_its_pod_does_without_a_new_dashboard(session, dash):
    name = sorted(web_cells(dash))[0]
    cell = dash._cells[("Pod", "default", name)]
    session.cluster.set_ready(name, False)
    session.advance("5s")
    assert dash.pod_cells()[name][1] == "not-ready"
    assert dash._cells[("Pod", "default", name)] is cell          # the same widget, changed
    assert "reconcile-pod-not-ready" in cell._dom_classes and "reconcile-pod-running" not in cell._dom_classes
    assert "not ready" in cell.tooltip and name in cell.tooltip
    session.cluster.crash_pod(name)
    session.advance("1s")
    assert dash.pod_cells()[name][1] == "failed"
    assert "CrashLoopBackOff" in cell.tooltip


def test_a_scale_from_the_language_moves_the_slider_without_scaling_again(session, dash, monkeypatch):
    calls = []
    scale = session.scale
    monkeypatch.setattr(session, "scale", lambda *a, **k: calls.append((a, k)) or scale(*a, **k))
    slider = dash.sliders["web"]
    session.run("scale web 4")
    assert slider.value == 4 and dash.sliders["web"] is slider
    assert len(calls) == 1                  # the command's own: the slider's move did not scale
    assert len(web_cells(dash)) == 4


def test_close_stops_following_the_cluster(session):
    d = Dashboard(session)
    assert d._changed in session._listeners
    before = d.pod_cells()
    d.close()
    assert d._changed not in session._listeners
    session.run("scale web 5")
    assert d.pod_cells() == before


# -- its controls

def test_moving_the_replicas_slider_scales_the_deployment(session, dash):
    dash.sliders["web"].value = 5
    assert session.store.get("Deployment", "web", "default").spec["replicas"] == 5
    assert len(running(session, "app=web")) == 5
    assert len(web_cells(dash)) == 5 and {s for _, s in web_cells(dash).values()} == {"running"}
    assert dash.last_error is None


def test_the_statefulset_slider_scales_the_statefulset(session, dash):
    dash.sliders["kv"].value = 3
    assert session.store.get("StatefulSet", "kv", "default").spec["replicas"] == 3
    assert {n for n in dash.pod_cells() if n.startswith("kv-")} == {"kv-0", "kv-1", "kv-2"}


def test_the_fail_button_moves_the_nodes_pods_elsewhere(session, dash):
    on_node = [n for n, (node, _) in dash.pod_cells().items() if node == "node-1"]
    assert on_node
    dash.node_buttons["node-1"]["fail"].click()
    assert not dash.node_status()["node-1"].startswith("Ready")
    assert "reconcile-node-notready" in dash._columns["node-1"].box._dom_classes
    assert all(node != "node-1" for node, _ in dash.pod_cells().values())
    assert len(running(session, "app=web")) == 3 and len(running(session, "app=kv")) == 2
    buttons = dash.node_buttons["node-1"]
    assert buttons["fail"].layout.display == "none" and buttons["recover"].layout.display != "none"
    buttons["recover"].click()
    assert dash.node_status()["node-1"] == "Ready"


def test_the_cordon_button_makes_the_node_unschedulable_and_back(session, dash):
    button = dash.node_buttons["node-2"]["cordon"]
    button.click()
    assert dash.node_status()["node-2"] == "Ready,SchedulingDisabled"
    assert session.store.get("Node", "node-2", None).spec.get("unschedulable") is True
    assert button.description == "uncordon"
    button.click()
    assert dash.node_status()["node-2"] == "Ready"
    assert button.description == "cordon"


def test_the_drain_button_empties_the_node(session, dash):
    dash.node_buttons["node-3"]["drain"].click()
    assert dash.node_status()["node-3"] == "Ready,SchedulingDisabled"
    assert all(node != "node-3" for node, _ in dash.pod_cells().values())
    assert len(running(session, "app=web")) == 3


def test_the_restart_button_rolls_out_a_new_replicaset(session, dash):
    (first,) = web_replicasets(session)
    dash.workload_buttons["web"]["restart"].click()
    assert dash.last_error is None
    replicasets = web_replicasets(session)
    assert len(replicasets) == 2
    (new,) = [r for r in replicasets if r.name != first.name]
    assert new.spec["replicas"] == 3
    assert all(p.metadata.ownerReferences[0].name == new.name for p in running(session, "app=web"))
    assert dash.rollout_bars["web"].bar_style == "success"
    assert all(name.startswith(new.name) for name in web_cells(dash))


def test_the_undo_button_rolls_back_to_the_previous_template(session, dash):
    (first,) = web_replicasets(session)
    dash.workload_buttons["web"]["restart"].click()
    dash.workload_buttons["web"]["undo"].click()
    assert dash.last_error is None
    assert all(name.startswith(first.name) for name in web_cells(dash)) and len(web_cells(dash)) == 3


# -- errors stay in the dashboard

def test_an_error_in_a_control_is_shown_in_the_dashboard(session, dash):
    session.store.delete("Deployment", "web", "default")        # behind the dashboard's back
    dash.sliders["web"].value = 2                                # raises nothing
    assert dash.last_error == 'deployments "web" not found in namespace default'
    assert "not found" in dash.error.value
    assert "web" not in dash.sliders                             # put right: the row is gone


def test_undo_of_a_statefulset_is_an_error_line(session, dash):
    dash.workload_buttons["kv"]["undo"].click()
    assert dash.last_error == "rollout undo works on deployments"
    dash.node_buttons["node-1"]["cordon"].click()                # the next control clears it
    assert dash.last_error is None and dash.error.value == ""


def test_a_listener_error_is_shown_not_raised(session, dash, monkeypatch):
    def broken(snap):
        raise RuntimeError("boom")
    monkeypatch.setattr(dash, "_show_nodes", broken)
    session.run("scale web 2")
    assert "boom" in dash.last_error


# -- what a pod and a node look like

def pod(phase=None, ready=None, waiting=None, deleting=False):
    status = {"phase": phase} if phase else {}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]
    if waiting:
        status["containerStatuses"] = [{"name": "main", "state": {"waiting": {"reason": waiting}}}]
    p = Pod.new("p", "default", status=status)
    return p.set(metadata=p.metadata.set(deletionTimestamp=1.0)) if deleting else p


@pytest.mark.parametrize("p, state", [
    (pod("Running", ready=True), "running"),
    (pod("Running", ready=False), "not-ready"),
    (pod("Pending"), "pending"),
    (pod(), "pending"),
    (pod("Pending", waiting="ContainerCreating"), "pending"),
    (pod("Running", waiting="CrashLoopBackOff"), "failed"),
    (pod("Pending", waiting="ImagePullBackOff"), "failed"),
    (pod("Failed"), "failed"),
    (pod("Succeeded"), "succeeded"),
    (pod("Running", ready=True, deleting=True), "terminating"),
])
def test_pod_state(p, state):
    assert pod_state(p) == state


def test_node_status_reads_like_kubectl(session):
    n = session.store.get("Node", "node-1", None)
    assert node_status(n) == "Ready"
    assert node_status(n.set(spec=n.spec.set("unschedulable", True))) == "Ready,SchedulingDisabled"
    assert node_status(n.set(status=n.status.set("conditions", []))) == "NotReady"


def test_outside_the_simulator_there_is_no_fail_button(dash, session):
    column = dash._columns["node-1"]
    column.show_node(session.store.get("Node", "node-1", None), 0, can_fail=False, failed=False)
    assert column.buttons["fail"].layout.display == "none"
    assert column.buttons["recover"].layout.display == "none"

