"""The object model: Kubernetes shape, defaults, immutability, JSON round trips."""

import pytest
from pyrsistent import PMap

from reconcile.api import model
from reconcile.api.model import Deployment, Job, ModelError, Pod, Service, from_dict, thaw


def deployment(**spec):
    return Deployment.from_dict({"metadata": {"name": "web", "labels": {"app": "web"}},
                                 "spec": {"template": {"metadata": {"labels": {"app": "web"}},
                                                       "spec": {"containers": [{"name": "c"}]}}, **spec}})


def test_objects_have_the_five_kubernetes_parts():
    d = deployment()
    assert (d.apiVersion, d.kind) == ("apps/v1", "Deployment")
    assert set(d.to_dict()) == {"apiVersion", "kind", "metadata", "spec"}
    assert isinstance(d.spec, PMap)


@pytest.mark.parametrize("cls, spec, path, value", [
    (Deployment, {}, ("replicas",), 1),
    (Deployment, {}, ("strategy", "rollingUpdate", "maxSurge"), "25%"),
    (Deployment, {}, ("strategy", "rollingUpdate", "maxUnavailable"), "25%"),
    (Deployment, {}, ("revisionHistoryLimit",), 10),
    (Deployment, {}, ("progressDeadlineSeconds",), 600),
    (Deployment, {}, ("template", "spec", "restartPolicy"), "Always"),
    (Deployment, {}, ("template", "spec", "terminationGracePeriodSeconds"), 30),
    (Job, {}, ("backoffLimit",), 6),
    (Job, {}, ("completions",), 1),
    (Job, {"parallelism": 3}, ("completions",), None),
    (Job, {}, ("template", "spec", "restartPolicy"), "Never"),
    (Pod, {}, ("restartPolicy",), "Always"),
    (Pod, {}, ("schedulerName",), "default-scheduler"),
    (Service, {"ports": [{"port": 80}]}, ("ports", 0, "targetPort"), 80),
    (Service, {"ports": [{"port": 80}]}, ("ports", 0, "protocol"), "TCP"),
    (Service, {}, ("type",), "ClusterIP"),
    (model.StatefulSet, {}, ("podManagementPolicy",), "OrderedReady"),
    (model.DaemonSet, {}, ("updateStrategy", "rollingUpdate", "maxUnavailable"), 1),
    (model.CronJob, {}, ("concurrencyPolicy",), "Allow"),
    (model.HorizontalPodAutoscaler, {"maxReplicas": 3}, ("minReplicas",), 1),
])
def test_kubernetes_defaults(cls, spec, path, value):
    obj = cls.from_dict({"metadata": {"name": "x"}, "spec": spec})
    got = thaw(obj.spec)
    for p in path:
        got = got.get(p) if isinstance(got, dict) else got[p]
    assert got == value


def test_defaults_do_not_override_what_is_given():
    d = deployment(replicas=0, strategy={"type": "Recreate"})
    assert d.spec["replicas"] == 0
    assert thaw(d.spec["strategy"]) == {"type": "Recreate"}


def test_records_are_immutable_and_set_makes_a_copy():
    d = deployment()
    with pytest.raises(AttributeError):
        d.kind = "Pod"
    d2 = d.set(spec=d.spec.set("replicas", 5))
    assert (d.spec["replicas"], d2.spec["replicas"]) == (1, 5)
    assert d2.spec["template"] is d.spec["template"]   # the unchanged part is shared


def test_json_round_trip_is_the_identity():
    d = deployment(replicas=4)
    d = d.set(metadata=d.metadata.set(uid="u-1", resourceVersion="7", generation=2,
                                      creationTimestamp=1767225600.0,
                                      ownerReferences=model.pvector([model.OwnerReference(
                                          apiVersion="v1", kind="X", name="o", uid="u-0", controller=True)])))
    data = d.to_dict()
    assert data["metadata"]["creationTimestamp"] == "2026-01-01T00:00:00Z"
    assert data["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u-0", "controller": True}]
    assert from_dict(data) == d


@pytest.mark.parametrize("data, message", [
    ({"kind": "Gizmo", "metadata": {"name": "x"}}, "kind: unknown kind 'Gizmo'"),
    ({"metadata": {"name": "x"}}, "kind: required"),
    ({"kind": "Deployment", "apiVersion": "v1", "metadata": {"name": "x"}}, "apiVersion: Deployment is served as 'apps/v1'"),
    ({"kind": "Pod", "metadata": {"name": "x"}, "spek": {}}, "unknown field 'spek'"),
    ({"kind": "Node", "metadata": {"name": "x", "namespace": "a"}}, "metadata.namespace: a Node is cluster-scoped"),
    ({"kind": "Pod", "metadata": {"name": "x", "labels": {"a": 1}}}, "metadata.labels: 'a': keys and values must be strings"),
    ({"kind": "Pod", "metadata": {"name": "x", "creationTimestamp": "yesterday"}}, "metadata.creationTimestamp: expected an RFC 3339 time"),
])
def test_bad_dicts_raise_a_named_error(data, message):
    with pytest.raises(ModelError) as e:
        from_dict(data)
    assert str(e.value).startswith(message)


def test_kind_lookup_by_kubectl_names():
    assert model.kind_class("deploy") is Deployment
    assert model.kind_class("Pods") is Pod
    assert model.kind_class("svc") is Service
    with pytest.raises(ModelError):
        model.kind_class("gizmo")


def test_endpoints_keep_subsets_at_the_top_level():
    e = model.Endpoints.from_dict({"kind": "Endpoints", "metadata": {"name": "web"},
                                   "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 80}]}]})
    assert e.to_dict()["subsets"][0]["ports"] == [{"port": 80}]
    assert "spec" not in e.to_dict()


# -- the faster PMap lookups give what pyrsistent's own give

def test_fast_pmap_lookups_agree_with_pyrsistent():
    from hypothesis import given, strategies as st
    from pyrsistent import pmap

    from reconcile.api._pmap_speed import ORIGINAL

    keys = st.one_of(st.integers(-50, 50), st.text(max_size=3), st.tuples(st.integers(0, 3), st.text(max_size=2)))

    @given(st.dictionaries(keys, st.integers()), st.lists(keys, max_size=20))
    def check(d, probes):
        m = pmap(d)
        for k in list(d) + probes + [1.0, True]:     # 1.0 == 1 and True == 1: equal keys, one hash
            assert m.get(k) == ORIGINAL["get"](m, k)
            assert m.get(k, "none") == ORIGINAL["get"](m, k, "none")
            assert (k in m) == ORIGINAL["__contains__"](m, k)
            try:
                want = ORIGINAL["__getitem__"](m, k)
            except KeyError:
                try:
                    m[k]
                except KeyError as e:
                    assert e.args == (k,)
                else:
                    raise AssertionError(f"{k!r} found by the fast lookup only")
            else:
                assert m[k] == want
    check()
