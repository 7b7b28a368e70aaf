"""The store: revisions, optimistic concurrency, finalizers, watch, indexes, admission, durability."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from pyrsistent import pmap, pvector

from reconcile.state.durable import SqliteBackend
from reconcile.api.errors import AlreadyExists, Conflict, Forbidden, Gone, Invalid, NotFound
from reconcile.api.model import Namespace, OwnerReference, Pod, Policy, ReplicaSet
from reconcile.state.store import ADDED, DELETED, MODIFIED, Store


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture
def store():
    return Store(clock=Clock())


def pod(name, labels=None, node=None, ns="default", owner=None):
    spec = {"containers": [{"name": "c"}]}
    if node:
        spec["nodeName"] = node
    p = Pod.new(name, ns, labels=labels or {}, spec=spec)
    if owner is not None:
        p = p.set(metadata=p.metadata.set(ownerReferences=pvector([OwnerReference(
            apiVersion=owner.apiVersion, kind=owner.kind, name=owner.name, uid=owner.metadata.uid,
            controller=True)])))
    return p


def test_create_sets_uid_revision_generation_and_time(store):
    p = store.create(pod("a"))
    assert (p.metadata.resourceVersion, p.metadata.generation, p.metadata.creationTimestamp) == ("1", 1, 1000.0)
    assert p.metadata.uid and store.revision == 1
    with pytest.raises(AlreadyExists):
        store.create(pod("a"))
    assert store.revision == 1


def test_get_of_a_missing_object_is_not_found(store):
    with pytest.raises(NotFound) as e:
        store.get("Pod", "nope")
    assert str(e.value) == "Pod default/nope not found"


def test_list_with_label_and_field_selectors(store):
    store.create(pod("a", {"app": "web", "tier": "fe"}, node="n1"))
    store.create(pod("b", {"app": "web"}, node="n2"))
    store.create(pod("c", {"app": "db"}, node="n1"))
    store.create(pod("d", {"app": "web"}, ns="other"))
    names = lambda objs: [o.name for o in objs]
    assert names(store.list("Pod", selector="app=web")) == ["a", "b", "d"]
    assert names(store.list("Pod", "default", selector="app=web")) == ["a", "b"]
    assert names(store.list("Pod", selector="app in (web, db), !tier")) == ["b", "c", "d"]
    assert names(store.list("Pod", field_selector="spec.nodeName=n1")) == ["a", "c"]
    assert names(store.list("Pod", selector="app=web", field_selector="spec.nodeName!=n1")) == ["b", "d"]
    assert names(store.list("Pod", field_selector="metadata.namespace=other")) == ["d"]


def test_update_with_a_stale_resource_version_is_a_conflict(store):
    p = store.create(pod("a"))
    p2 = store.update(p.set(metadata=p.metadata.set(labels=pmap({"x": "1"}))))
    with pytest.raises(Conflict):
        store.update(p.set(metadata=p.metadata.set(labels=pmap({"x": "2"}))))
    assert store.get("Pod", "a").metadata.labels == {"x": "1"}
    assert p2.metadata.resourceVersion == "2"


def test_generation_moves_with_the_spec_only(store):
    rs = store.create(ReplicaSet.new("rs", "default", spec={"replicas": 1, "selector": {"matchLabels": {"a": "b"}}, "template": {
        "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}}}))
    rs = store.update(rs.set(metadata=rs.metadata.set(labels=pmap({"x": "y"}))))
    assert rs.metadata.generation == 1
    rs = store.update(rs.set(spec=rs.spec.set("replicas", 3)))
    assert rs.metadata.generation == 2
    rs = store.update_status(rs.set(status=pmap({"replicas": 3})))
    assert rs.metadata.generation == 2 and rs.status["replicas"] == 3


def test_status_and_spec_are_written_separately(store):
    rs = store.create(ReplicaSet.new("rs", "default", spec={"replicas": 1, "selector": {"matchLabels": {"a": "b"}}, "template": {
        "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}}}))
    store.update_status(rs.set(status=pmap({"replicas": 1})))
    # an update of the spec from a copy without status keeps the stored status
    rs2 = store.update(rs.set(spec=rs.spec.set("replicas", 2), metadata=rs.metadata.set(resourceVersion="")))
    assert rs2.status["replicas"] == 1
    # a status update cannot change the spec
    rs3 = store.update_status(rs2.set(spec=rs2.spec.set("replicas", 9), status=pmap({"replicas": 2})))
    assert rs3.spec["replicas"] == 2 and rs3.status["replicas"] == 2


def test_a_write_that_changes_nothing_makes_no_revision(store):
    p = store.create(pod("a"))
    assert store.update(p) is p or store.update(p).metadata.resourceVersion == "1"
    assert store.revision == 1


def test_merge_patch(store):
    store.create(pod("a", {"app": "web", "x": "1"}))
    p = store.patch("Pod", "a", "default", {"metadata": {"labels": {"x": None, "y": "2"}}})
    assert dict(p.metadata.labels) == {"app": "web", "y": "2"}
    p = store.patch("Pod", "a", "default", {"status": {"phase": "Running"}}, status=True)
    assert p.status["phase"] == "Running"


def test_delete_with_finalizers_marks_then_removes(store):
    p = store.create(pod("a").set(metadata=pod("a").metadata.set(finalizers=pvector(["example.com/x"]))))
    store.clock.t = 1005.0
    marked = store.delete("Pod", "a")
    assert marked.metadata.deletionTimestamp == 1005.0
    assert store.get("Pod", "a").metadata.deletionTimestamp == 1005.0
    store.update(marked.set(metadata=marked.metadata.set(finalizers=pvector())))
    with pytest.raises(NotFound):
        store.get("Pod", "a")
    assert [e.type for e in store.watch(0)] == [ADDED, MODIFIED, DELETED]


def test_orphan_deletion_releases_the_dependents(store):
    rs = store.create(ReplicaSet.new("rs", "default", spec={"replicas": 1, "selector": {"matchLabels": {"a": "b"}}, "template": {
        "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}}}))
    store.create(pod("a", owner=rs))
    assert [o.name for o in store.snapshot().owned_by(rs.metadata.uid)] == ["a"]
    store.delete("ReplicaSet", "rs", propagation="Orphan")
    assert store.get("Pod", "a").metadata.ownerReferences == pvector()
    assert store.snapshot().owned_by(rs.metadata.uid) == []


def test_watch_in_order_and_gone_when_too_old():
    s = Store(clock=Clock(), history=3)
    for i in range(5):
        s.create(pod(f"p{i}"))
    assert [e.revision for e in s.watch(2)] == [3, 4, 5]
    assert s.watch(5) == []
    with pytest.raises(Gone) as e:
        s.watch(1)
    assert "too old resource version: 1" in str(e.value)


def test_listeners_see_committed_events(store):
    seen = []
    store.add_listener(lambda e: seen.append((e.revision, e.type, e.object.name)))
    store.create(pod("a"))
    store.delete("Pod", "a")
    assert seen == [(1, ADDED, "a"), (2, DELETED, "a")]


def test_a_batch_commits_all_or_nothing(store):
    store.create(pod("a"))
    with pytest.raises(RuntimeError):
        with store.batch():
            store.create(pod("b"))
            store.delete("Pod", "a")
            raise RuntimeError("step failed")
    assert [p.name for p in store.list("Pod")] == ["a"] and store.revision == 1
    with store.batch():
        store.create(pod("b"))
        store.create(pod("c"))
    assert store.revision == 3


def test_snapshots_are_values(store):
    store.create(pod("a", {"app": "web"}))
    before = store.snapshot()
    store.create(pod("b", {"app": "web"}))
    store.delete("Pod", "a")
    assert [p.name for p in before.list("Pod", selector="app=web")] == ["a"]
    assert [p.name for p in store.snapshot().list("Pod", selector="app=web")] == ["b"]


def test_indexes_follow_relabels_and_rebinding(store):
    p = store.create(pod("a", {"app": "web"}, node="n1"))
    p = store.update(p.set(metadata=p.metadata.set(labels=pmap({"app": "db"})), spec=p.spec.set("nodeName", "n2")))
    snap = store.snapshot()
    assert snap.list("Pod", selector="app=web") == []
    assert [x.name for x in snap.list("Pod", selector="app=db")] == ["a"]
    assert snap.pods_on_node("n1") == [] and [x.name for x in snap.pods_on_node("n2")] == ["a"]


def test_invalid_objects_are_rejected_and_change_nothing(store):
    with pytest.raises(Invalid) as e:
        store.create(pod("Bad_Name"))
    assert "metadata.name" in str(e.value)
    with pytest.raises(Invalid):
        store.create(pod("ok", {"bad key": "x"}))
    assert store.revision == 0 and store.list("Pod") == []


def test_policies_deny_writes(store):
    store.create(Policy.new("require-cpu", spec={"deny": {"kind": "Pod", "where": "!requests.cpu"},
                                                  "message": "every container must request cpu"}))
    with pytest.raises(Forbidden) as e:
        store.create(pod("a"))
    assert str(e.value) == "Pod a is denied by policy require-cpu: every container must request cpu"
    ok = Pod.new("b", "default", spec={"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]})
    store.create(ok)
    assert [p.name for p in store.list("Pod")] == ["b"]


def test_namespaces_are_cluster_scoped(store):
    ns = store.create(Namespace.new("shop"))
    assert store.get("Namespace", "shop", "ignored").name == "shop"
    assert ns.namespace is None


# -- optimistic concurrency under threads

def test_eight_threads_incrementing_a_counter_with_retries_lose_no_update(store):
    store.create(pod("counter").set(metadata=pod("counter").metadata.set(annotations=pmap({"n": "0"}))))
    per_thread, conflicts = 200, []

    def work():
        for _ in range(per_thread):
            while True:
                p = store.get("Pod", "counter")
                n = int(p.metadata.annotations["n"]) + 1
                time.sleep(0)   # let the others interleave between read and write
                try:
                    store.update(p.set(metadata=p.metadata.set(annotations=pmap({"n": str(n)}))))
                    break
                except Conflict:
                    conflicts.append(1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("Pod", "counter").metadata.annotations["n"] == str(8 * per_thread)
    assert conflicts, "the threads never raced; the test would not show anything"


# -- durability

def test_restart_brings_back_every_object_and_the_revision(tmp_path):
    path = str(tmp_path / "state.db")
    s = Store(clock=Clock(), backend=SqliteBackend(path))
    rs = s.create(ReplicaSet.new("rs", "default", spec={"replicas": 2, "selector": {"matchLabels": {"a": "b"}}, "template": {
        "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}}}))
    s.create(pod("a", {"app": "web"}, node="n1", owner=rs))
    s.update_status(s.get("Pod", "a").set(status=pmap({"phase": "Running"})))
    with s.batch():
        s.create(pod("b"))
        s.delete("Pod", "b")
    before = s.snapshot()
    s.close()
    s2 = Store(clock=Clock(), backend=SqliteBackend(path))
    after = s2.snapshot()
    assert after.revision == before.revision == 5
    assert list(after) == list(before)
    assert [p.name for p in after.owned_by(rs.metadata.uid)] == ["a"]
    assert [p.name for p in after.pods_on_node("n1")] == ["a"]


def test_an_encoded_object_decodes_to_an_equal_one_with_every_metadata_field_and_its_status():
    from reconcile.state.durable import decode, encode
    owner = OwnerReference(apiVersion="apps/v1", kind="ReplicaSet", name="rs", uid="u-rs", controller=True,
                           blockOwnerDeletion=True)
    p = Pod.new("a", "shop", labels={"app": "web"}, annotations={"note": "x"},
                spec={"containers": [{"name": "c", "command": ["sleep", "1"]}], "nodeName": "n1"},
                status={"phase": "Running", "podIP": "10.0.0.7",
                        "conditions": [{"type": "Ready", "status": "True"}]})
    p = p.set(metadata=p.metadata.set(
        uid="u-a", resourceVersion="42", generation=3, creationTimestamp=1000.125, deletionTimestamp=1030.5,
        deletionGracePeriodSeconds=30, ownerReferences=pvector([owner]), finalizers=pvector(["example.com/keep"])))
    back = decode(encode(p))
    assert back == p and type(back) is Pod
    assert back.metadata.creationTimestamp == 1000.125 and back.metadata.deletionTimestamp == 1030.5
    assert back.metadata.ownerReferences == p.metadata.ownerReferences
    assert list(back.metadata.finalizers) == ["example.com/keep"]
    assert back.status["conditions"][0]["type"] == "Ready"
    assert encode(back) == encode(p)


WRITER = textwrap.dedent('''
    import sys
    from reconcile.state.durable import SqliteBackend
    from reconcile.api.model import Pod
    from reconcile.state.store import Store
    s = Store(clock=lambda: 1.0, backend=SqliteBackend(sys.argv[1]))
    step = 0
    print("ready", flush=True)
    while True:
        step += 1
        with s.batch():             # one step: ten pods, all or none
            for i in range(10):
                s.create(Pod.new(f"p{step}-{i}", "default", spec={"containers": [{"name": "c"}]}))
        print(step, s.revision, flush=True)
''')


def test_kill_9_in_the_middle_of_writes_loses_no_committed_step(tmp_path):
    path = str(tmp_path / "state.db")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    last = None
    for _ in range(40):                       # let it commit some steps, then kill it mid-run
        last = proc.stdout.readline().split()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    committed_step, committed_rev = int(last[0]), int(last[1])
    s = Store(clock=lambda: 2.0, backend=SqliteBackend(path))
    pods = s.list("Pod")
    # every step it reported is there, no step is half there, and the revision matches the objects
    assert s.revision >= committed_rev and s.revision % 10 == 0
    assert len(pods) == s.revision
    steps = {}
    for p in pods:
        step = int(p.name[1:].split("-")[0])
        steps[step] = steps.get(step, 0) + 1
    assert all(n == 10 for n in steps.values())
    assert set(range(1, committed_step + 1)) <= set(steps)


def test_an_object_holding_unfrozen_data_is_refused_by_name_and_nothing_is_written(tmp_path):
    """A value that is not JSON (a set) .set into a frozen map by hand (here in the status, which
    validation does not look at) cannot be stored durably: a named error, the store unchanged (in
    memory and on disk)."""
    import time as _time

    from reconcile.state.durable import SqliteBackend
    from reconcile.api.errors import Invalid
    from reconcile.api.model import Deployment
    from reconcile.state.store import Store
    d = Deployment.new("web", spec={"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                                    "template": {"metadata": {"labels": {"a": "b"}},
                                                 "spec": {"containers": [{"name": "c", "command": ["x"]}]}}})
    bad = d.set(status=d.status.set("observed", {80}))
    store = Store(clock=_time.time, backend=SqliteBackend(str(tmp_path / "s.db")))
    with pytest.raises(Invalid, match="Deployment default/web holds data that is not JSON-like"):
        store.create(bad)
    assert store.list("Deployment") == [] and store.revision == 0
    store.close()
    assert SqliteBackend(str(tmp_path / "s.db")).load()[1] == []
