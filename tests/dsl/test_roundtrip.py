"""Round trips: parse(format(m)) == m and load_yaml(to_yaml(m)) == m, for generated manifests."""

from hypothesis import HealthCheck, given, settings

import dsl

from tests.dsl.strategies import manifests_text


def _manifest(text):
    try:
        return dsl.parse(text)
    except dsl.DslError:
        # generated names can collide (two deployments 'a'): that is a real error,
        # reported as such; such drafts are not manifests and are skipped
        from hypothesis import assume
        assume(False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests_text())
def test_format_then_parse_gives_the_same_manifest(text):
    m = _manifest(text)
    formatted = dsl.format(m)
    assert dsl.parse(formatted) == m
    assert dsl.format(dsl.parse(formatted)) == formatted   # canonical: a fixpoint


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests_text())
def test_to_yaml_then_load_yaml_gives_the_same_manifest(text):
    m = _manifest(text)
    assert dsl.load_yaml(dsl.to_yaml(m)) == m


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests_text())
def test_yaml_to_language_and_back(text):
    m = _manifest(text)
    assert dsl.parse(dsl.format(dsl.load_yaml(dsl.to_yaml(m)))) == m
