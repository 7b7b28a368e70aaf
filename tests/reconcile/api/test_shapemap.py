"""ShapeMap behaves as a PMap with the same items, whatever is done to it."""

import pickle

import pytest
from hypothesis import given, settings, strategies as st
from pyrsistent import PMap, pmap

from reconcile.api._shapemap import MAX_KEYS, ShapeMap, compact
from reconcile.api.model import freeze, thaw

keys = st.sampled_from([f"k{i}" for i in range(MAX_KEYS + 4)])
values = st.one_of(st.integers(-3, 3), st.text(max_size=2), st.none())
ops = st.lists(st.one_of(
    st.tuples(st.just("set"), keys, values),
    st.tuples(st.just("remove"), keys, st.none()),
    st.tuples(st.just("discard"), keys, st.none()),
    st.tuples(st.just("update"), st.dictionaries(keys, values, max_size=4), st.none()),
    st.tuples(st.just("evolve"), keys, values),
), max_size=30)


def _apply(m, op, key, value):
    if op == "set":
        return m.set(key, value)
    if op == "remove":
        return m.remove(key)
    if op == "discard":
        return m.discard(key)
    if op == "update":
        return m.update(key)
    e = m.evolver()
    e[key] = value
    if key in e and len(e) > 1:
        del e[key]
        e.set(key, value)
    return e.persistent()


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=MAX_KEYS), ops)
def test_a_shapemap_answers_as_a_pmap_with_the_same_items(initial, operations):
    ours, theirs = compact(initial), pmap(initial)
    grown = False
    for op, key, value in operations:
        try:
            expected = _apply(theirs, op, key, value)
        except KeyError:
            with pytest.raises(KeyError):
                _apply(ours, op, key, value)
            continue
        ours, theirs = _apply(ours, op, key, value), expected
        assert isinstance(ours, PMap)
        assert ours == theirs and theirs == ours and not (ours != theirs)
        assert dict(ours) == dict(theirs) and len(ours) == len(theirs)
        assert hash(ours) == hash(theirs)
        assert set(ours.keys()) == set(theirs.keys()) and sorted(map(repr, ours.values())) == \
            sorted(map(repr, theirs.values()))
        assert set(ours.items()) == set(theirs.items())
        for k in (key if isinstance(key, dict) else [key]):
            assert (k in ours) == (k in theirs)
            assert ours.get(k, "absent") == theirs.get(k, "absent")
        grown = grown or len(ours) > MAX_KEYS
        assert type(ours) is (PMap if grown else ShapeMap)  # small maps stay compact; large ones are PMaps


def test_maps_with_the_same_keys_share_one_shape():
    a, b = compact({"phase": "Pending", "podIP": "1"}), compact({"phase": "Running", "podIP": "2"})
    assert a._shape is b._shape
    assert a.set("hostIP", "h")._shape is b.set("hostIP", "x")._shape
    assert a.remove("phase")._shape is compact({"podIP": "3"})._shape


def test_errors_setting_and_copying_match_pmap():
    m = compact({"a": 1})
    with pytest.raises(KeyError):
        m["b"]
    with pytest.raises(AttributeError):
        m.b
    assert m.a == 1
    assert m.set("a", 1) is m and m.discard("zz") is m
    assert m.remove("a") == pmap() and not m.remove("a") and type(m.remove("a")) is ShapeMap
    assert pickle.loads(pickle.dumps(m)) == m
    assert repr(m) == "pmap({'a': 1})"
    with pytest.raises(TypeError):
        ShapeMap()


def test_freeze_makes_small_maps_compact_and_thaw_undoes_it():
    data = {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]},
            "big": {f"k{i}": i for i in range(MAX_KEYS + 1)}}
    frozen = freeze(data)
    assert type(frozen) is ShapeMap and type(frozen["spec"]["containers"][0]) is ShapeMap
    assert type(frozen["big"]) is PMap
    assert thaw(frozen) == data
    assert list(frozen) == ["spec", "big"]           # insertion order, as the YAML had it
