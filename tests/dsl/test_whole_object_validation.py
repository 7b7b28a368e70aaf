"""The language and Kubernetes YAML go through the API server's validation of whole objects."""

from __future__ import annotations

import pytest

import dsl


def test_load_yaml_refuses_a_bad_quantity_naming_the_field():
    text = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        resources: {requests: {cpu: 12x}}
"""
    with pytest.raises(dsl.YamlError) as e:
        dsl.load_yaml(text, "web.yaml")
    assert e.value.message.startswith(
        'Deployment.apps "web" is invalid: spec.template.spec.containers[0].resources.requests.cpu: '
        'Invalid value: "12x": quantities must match the regular expression')
    assert e.value.path == "web.yaml" and e.value.line == 1


def test_load_yaml_refuses_a_daemonset_without_a_selector_and_a_namespace_path():
    text = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent}]}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ../../x}
spec: {containers: [{name: c}]}
"""
    with pytest.raises(dsl.DslErrors) as e:
        dsl.load_yaml(text)
    messages = [x.message for x in e.value.errors]
    assert messages[0] == 'DaemonSet.apps "agent" is invalid: spec.selector: Required value'
    assert messages[1].startswith('Pod "p" is invalid: metadata.namespace: Invalid value: "../../x"')
    assert [x.line for x in e.value.errors] == [1, 9]


def test_the_language_refuses_a_billion_replicas_at_the_workload():
    text = "deployment web {\n  replicas 1000000000\n  labels app=web\n  container web { command serve }\n}\n"
    with pytest.raises(dsl.DslError) as e:
        dsl.parse(text, "big.cluster")
    assert e.value.message == ('Deployment.apps "web" is invalid: spec.replicas: Invalid value: 1000000000: '
                               'must be less than or equal to 100000')
    assert (e.value.path, e.value.line, e.value.column) == ("big.cluster", 1, 12)


def test_the_language_still_accepts_its_examples():
    import pathlib
    for path in sorted(pathlib.Path(__file__).parents[2].joinpath("examples").rglob("*.cluster")):
        assert dsl.parse_file(path), path
