"""The front ends' commands on the simulator: what a notebook cell shows and what it changes."""

import pytest

from dsl import DslError
from reconcile.frontends.notebook.commands import CommandError
from reconcile.frontends.notebook.session import Session, rollout_status

WEB = """
deployment web {
  replicas 3
  labels app=web tier=frontend
  container http {
    command python -m http.server $PORT
    port http 8080
  }
}
service web { selector app=web  port 80 -> http }
"""


@pytest.fixture
def session():
    s = Session()
    s.run(WEB)
    return s


def _pods(s, selector="app=web"):
    return sorted(p.name for p in s.cluster.list("Pod", selector))


def test_a_cell_of_definitions_is_applied_and_running_it_again_changes_nothing(session):
    d = session.cluster.get("Deployment", "web")
    again = session.run(WEB)
    assert str(again).splitlines() == ["deployment.apps/web unchanged", "service/web unchanged"]
    assert session.cluster.get("Deployment", "web").metadata.resourceVersion == d.metadata.resourceVersion
    assert len(_pods(session)) == 3


def test_get_pods_is_a_table_of_the_pods_with_their_nodes(session):
    table = session.run("get pods where app=web, tier in (frontend)")
    assert table.columns == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"]
    assert sorted(table.column("NAME")) == _pods(session)
    assert set(table.column("READY")) == {"1/1"} and set(table.column("STATUS")) == {"Running"}
    nodes = {p.name: p.spec["nodeName"] for p in session.cluster.list("Pod")}
    assert dict(zip(table.column("NAME"), table.column("NODE"))) == nodes
    assert "<table" in table._repr_html_() and "web-" in str(table)
    assert str(session.run("get pods where app=db")) == "No resources found."


def test_get_shows_the_namespace_when_there_are_several(session):
    session.run("namespace shop\ndeployment db {\n  labels app=db\n  container c { command sleep 1000 }\n}")
    table = session.run("get deployments")
    assert table.columns[0] == "NAMESPACE"
    assert sorted(zip(table.column("NAMESPACE"), table.column("NAME"))) == [("default", "web"), ("shop", "db")]
    with pytest.raises(CommandError, match='deployments "db" not found in namespace default'):
        session.run("scale deployment db 2 -n default")
    assert "scaled to 2" in str(session.run("scale db 2"))          # the only namespace that has one


def test_scale_changes_the_deployment_and_the_pods_follow(session):
    out = session.run("scale web 5")
    assert str(out).splitlines() == ["deployment.apps/web scaled to 5", 'deployment "web" successfully rolled out']
    assert session.cluster.get("Deployment", "web").spec["replicas"] == 5 and len(_pods(session)) == 5
    session.run("scale web 1")
    assert len(_pods(session)) == 1


def test_rollout_restart_undo_and_history(session):
    first = {rs.name for rs in session.cluster.list("ReplicaSet")}
    assert "restarted" in str(session.run("rollout restart web"))
    assert len(session.cluster.list("ReplicaSet")) == 2
    history = session.run("rollout history web")
    assert history.column("REVISION") == ["1", "2"]
    session.run("rollout undo web")
    current = [rs for rs in session.cluster.list("ReplicaSet") if rs.spec["replicas"] > 0]
    assert [rs.name for rs in current] == sorted(first)           # back on the first template's ReplicaSet
    assert rollout_status(session.cluster.get("Deployment", "web"))[0]


def test_describe_is_the_object_as_yaml_and_its_events(session):
    text = str(session.run("describe deployment web"))
    assert "kind: Deployment" in text and "name: web" in text and "replicas: 3" in text
    assert "Events:" in text and "ScalingReplicaSet" in text


def test_delete_removes_the_object_and_what_it_owns(session):
    assert str(session.run("delete deployment web")) == 'deployment.apps "web" deleted'
    assert session.cluster.list("Deployment") == [] and _pods(session) == []


def test_drain_moves_the_pods_and_fail_brings_them_back_elsewhere(session):
    node = session.cluster.list("Pod", "app=web")[0].spec["nodeName"]
    out = str(session.run(f"drain {node}"))
    assert out.splitlines()[0] == f"node/{node} cordoned" and f"node/{node} drained" in out
    assert all(p.spec["nodeName"] != node for p in session.cluster.list("Pod", "app=web"))
    nodes = session.run("get nodes")
    assert dict(zip(nodes.column("NAME"), nodes.column("STATUS")))[node] == "Ready,SchedulingDisabled"
    session.run(f"uncordon {node}")

    victim = session.cluster.list("Pod", "app=web")[0].spec["nodeName"]
    session.run(f"fail {victim}")
    pods = session.cluster.list("Pod", "app=web")
    assert len(pods) == 3 and all(p.spec["nodeName"] != victim and p.status["phase"] == "Running" for p in pods)
    status = dict(zip(*(session.run("get nodes").column(c) for c in ("NAME", "STATUS"))))
    assert status[victim] == "Unknown"


def test_plan_shows_what_the_definitions_above_it_would_change_and_applies_nothing(session):
    out = str(session.run(WEB.replace("replicas 3", "replicas 4") + "\nplan"))
    assert "~ deployment/web" in out and "spec.replicas: 3 -> 4" in out
    assert out.splitlines()[-1] == "Plan: 0 to create, 1 to change, 0 to delete."
    assert session.cluster.get("Deployment", "web").spec["replicas"] == 3


def test_a_cell_with_an_error_anywhere_changes_nothing(session):
    revision = session.cluster.store.revision
    with pytest.raises(CommandError) as e:
        session.run("deployment other {\n  labels app=o\n  container c { command sleep 1 }\n}\nscale web lots",
                    path="cell[9]")
    assert (e.value.line, e.value.column) == (5, 11) and str(e.value).startswith("cell[9]:5:11: ")
    with pytest.raises(DslError) as e:
        session.run("get pods\ndeployment x {\n  replicas many\n}")
    assert e.value.errors[-1].line == 3
    assert session.cluster.store.revision == revision


@pytest.mark.parametrize("cell, message, column", [
    ("get widgets", "unknown kind 'widgets'", 5),
    ("describe deployment nope", 'deployments "nope" not found', 21),
    ("logs " + "x", 'pods "x" not found', 6),
    ("scale service web 2", "services cannot be scaled", 7),
    ("rollout undo nope", 'no deployment, statefulset or daemonset named "nope"', 14),
    ("get pods where app in (a", "expected", 25),
    ("plan", "this cell has none", 1),
])
def test_commands_that_cannot_be_done_say_why_at_their_column(session, cell, message, column):
    with pytest.raises(CommandError) as e:
        session.run(cell)
    assert message in e.value.message and e.value.column == column


def test_logs_need_real_pods(session):
    with pytest.raises(CommandError, match="the simulator runs no processes"):
        session.run("logs " + _pods(session)[0])


def test_events_are_a_table_of_the_last_ones(session):
    assert len(session.run("events 100")) == len(session.cluster.events()) > 3
    table = session.run("events 3")
    assert len(table) == 3 and table.columns == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert all(row[1] in ("Normal", "Warning") for row in table.rows)


def test_listeners_hear_every_change(session):
    heard = []
    stop = session.on_change(lambda s: heard.append(s.cluster.store.revision))
    session.run("scale web 4")
    assert heard and heard[-1] == session.cluster.store.revision
    stop()
    n = len(heard)
    session.run("scale web 2")
    assert len(heard) == n


def test_advance_moves_the_simulators_clock(session):
    before = session.cluster.now
    assert "advanced 90s" in str(session.run("advance 90s"))
    assert session.cluster.now == pytest.approx(before + 90)


def test_apply_file_reads_the_language_yaml_and_json_and_errors_name_the_file(tmp_path):
    s = Session()
    (tmp_path / "ns.cluster").write_text("namespace shop\n")
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: tools}\n")
    (tmp_path / "cm.json").write_text('{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}}')
    for name in ("ns.cluster", "cm.yaml", "cm.json"):
        s.run(f"apply {tmp_path / name}")
    assert {"shop", "tools", "ops"} <= {n.name for n in s.cluster.list("Namespace")}
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: [\n")
    before = s.snapshot().revision
    with pytest.raises(DslError) as e:
        s.run(f"apply {bad}")
    assert str(bad) in str(e.value)
    assert s.snapshot().revision == before
