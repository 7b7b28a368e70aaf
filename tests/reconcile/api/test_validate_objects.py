"""Whole-object validation, kind by kind, against upstream's cases and words.

The tables follow upstream's tests (cited per table): each case is a change
to a valid object and the one error Kubernetes reports for it, with its
field path and message.
"""

from __future__ import annotations

import copy

import pytest

from reconcile.api.errors import Invalid
from reconcile.api.model import freeze, from_dict
from reconcile.api.validate_objects import MAX_REPLICAS, InvalidObject, check_object, validate_object

LABELS = {"app": "web"}


def pod_spec(**extra) -> dict:
    return {"containers": [{"name": "web", "command": ["serve"], "ports": [{"name": "http", "containerPort": 8080}],
                            "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}], **extra}


def template(**extra) -> dict:
    return {"metadata": {"labels": dict(LABELS)}, "spec": pod_spec(**extra)}


VALID = {
    "Pod": {"kind": "Pod", "metadata": {"name": "web-1", "labels": LABELS}, "spec": pod_spec()},
    "Deployment": {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "web"},
                   "spec": {"replicas": 3, "selector": {"matchLabels": LABELS}, "template": template()}},
    "ReplicaSet": {"kind": "ReplicaSet", "apiVersion": "apps/v1", "metadata": {"name": "web"},
                   "spec": {"replicas": 3, "selector": {"matchLabels": LABELS}, "template": template()}},
    "StatefulSet": {"kind": "StatefulSet", "apiVersion": "apps/v1", "metadata": {"name": "db"},
                    "spec": {"replicas": 3, "selector": {"matchLabels": LABELS}, "template": template()}},
    "DaemonSet": {"kind": "DaemonSet", "apiVersion": "apps/v1", "metadata": {"name": "agent"},
                  "spec": {"selector": {"matchLabels": LABELS}, "template": template()}},
    "Job": {"kind": "Job", "apiVersion": "batch/v1", "metadata": {"name": "work"},
            "spec": {"completions": 3, "template": template(restartPolicy="Never")}},
    "CronJob": {"kind": "CronJob", "apiVersion": "batch/v1", "metadata": {"name": "tick"},
                "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template()}}}},
    "Service": {"kind": "Service", "metadata": {"name": "web"},
                "spec": {"selector": LABELS, "ports": [{"port": 80, "targetPort": "http"}]}},
    "Node": {"kind": "Node", "metadata": {"name": "n1"}, "status": {"capacity": {"cpu": "4", "pods": "110"}}},
    "Namespace": {"kind": "Namespace", "metadata": {"name": "shop"}},
    "HorizontalPodAutoscaler": {"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
                                "metadata": {"name": "web"},
                                "spec": {"maxReplicas": 5, "scaleTargetRef": {"kind": "Deployment", "name": "web"}}},
    "Policy": {"kind": "Policy", "apiVersion": "reconcile.dev/v1", "metadata": {"name": "p"},
               "spec": {"deny": {"kind": "Pod", "where": "requests.cpu>4"}}},
}


def build(kind: str, *changes) -> object:
    d = copy.deepcopy(VALID[kind])
    for path, value in changes:
        *parents, last = path.split(".")
        node = d
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
        if isinstance(node, list):
            node[int(last)] = value
        elif value is _DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    return from_dict(d)


_DELETE = object()


@pytest.mark.parametrize("kind", sorted(VALID))
def test_every_valid_object_has_no_errors(kind):
    assert validate_object(build(kind)) == []


C = "spec.template.spec.containers.0"
PC = "spec.containers.0"
CASES = [
    # the issue's own cases
    ("Deployment", [(f"{C}.resources.requests.cpu", "12x")],
     f'{C.replace(".0", "[0]")}.resources.requests.cpu: Invalid value: "12x": quantities must match the regular '
     "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    ("Deployment", [("spec.replicas", 1_000_000_000)],
     f"spec.replicas: Invalid value: 1000000000: must be less than or equal to {MAX_REPLICAS}"),
    ("Pod", [("metadata.namespace", "../../x")],
     'metadata.namespace: Invalid value: "../../x": a lowercase RFC 1123 label must consist of lower case '
     "alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  "
     "or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
    ("DaemonSet", [("spec.selector", _DELETE)], "spec.selector: Required value"),
    # TestValidateDeployment (pkg/apis/apps/validation/validation_test.go): errorCases
    ("Deployment", [("spec.selector", {"matchLabels": {"app": "other"}})],
     'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
     "`selector` does not match template `labels`"),
    ("Deployment", [("spec.replicas", -1)], "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    ("Deployment", [("spec.template.spec.restartPolicy", "Never")],
     'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'),
    ("Deployment", [("spec.strategy.type", "randomType")],
     'spec.strategy.type: Unsupported value: "randomType": supported values: "Recreate", "RollingUpdate"'),
    ("Deployment", [("spec.strategy", {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}})],
     "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"),
    ("Deployment", [("spec.strategy.rollingUpdate", {"maxUnavailable": "20Percent", "maxSurge": 1})],
     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 20Percent: a valid percent string must be a "
     "numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"),
    ("Deployment", [("spec.strategy.rollingUpdate", {"maxUnavailable": "110%", "maxSurge": 1})],
     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 110%: must not be greater than 100%"),
    ("Deployment", [("spec.strategy.rollingUpdate", {"maxUnavailable": 0, "maxSurge": 0})],
     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"),
    ("Deployment", [("spec.progressDeadlineSeconds", 5), ("spec.minReadySeconds", 5)],
     "spec.progressDeadlineSeconds: Invalid value: 5: must be greater than minReadySeconds"),
    ("Deployment", [("spec.selector", {})], "spec.selector: Invalid value: map[string]string{}: "
                                            "empty selector is invalid for deployment"),
    # TestValidateReplicaSet, TestValidateStatefulSet, TestValidateDaemonSet (same file)
    ("ReplicaSet", [("spec.template.spec.activeDeadlineSeconds", 10)],
     "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported"),
    ("StatefulSet", [("spec.podManagementPolicy", "")], "spec.podManagementPolicy: Required value"),
    ("StatefulSet", [("spec.updateStrategy", {"type": "foo"})],
     "spec.updateStrategy.type: Invalid value: \"foo\": must be 'RollingUpdate' or 'OnDelete'"),
    ("StatefulSet", [("spec.updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": -1}})],
     "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0"),
    ("DaemonSet", [("spec.updateStrategy", {"type": "Rolling", "rollingUpdate": {}})],
     'spec.updateStrategy.type: Unsupported value: "Rolling": supported values: "RollingUpdate", "OnDelete"'),
    ("DaemonSet", [("spec.updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1,
                                                                                      "maxSurge": 1}})],
     "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero"),
    ("DaemonSet", [("spec.template.spec.restartPolicy", "OnFailure")],
     'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"'),
    # TestValidateJob (pkg/apis/batch/validation/validation_test.go)
    ("Job", [("spec.parallelism", -1)], "spec.parallelism: Invalid value: -1: must be greater than or equal to 0"),
    ("Job", [("spec.template.spec.restartPolicy", "Always")],
     'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"'),
    ("Job", [("spec.manualSelector", True)], "spec.selector: Required value"),
    ("Job", [("spec.manualSelector", True), ("spec.selector", {"matchLabels": {"app": "x"}})],
     'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
     "`selector` does not match template `labels`"),
    ("Job", [("spec.completionMode", "Indexed"), ("spec.completions", None), ("spec.parallelism", 2)],
     "spec.completions: Required value: when completion mode is Indexed"),
    ("CronJob", [("spec.concurrencyPolicy", "Sometimes")],
     'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"'),
    ("CronJob", [("spec.schedule", "")], "spec.schedule: Required value"),
    # TestValidateContainers / TestValidatePodSpec (pkg/apis/core/validation/validation_test.go)
    ("Pod", [("spec.containers", [])], "spec.containers: Required value"),
    ("Pod", [(f"{PC}.name", "Web_1")],
     "spec.containers[0].name: Invalid value: \"Web_1\": a lowercase RFC 1123 label must consist of lower case "
     "alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  "
     "or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
    ("Pod", [(f"{PC}.name", "")], "spec.containers[0].name: Required value"),
    ("Pod", [(f"{PC}.imagePullPolicy", "Sometimes")], 'spec.containers[0].imagePullPolicy: Unsupported value: '
     '"Sometimes": supported values: "Always", "Never", "IfNotPresent"'),
    ("Pod", [("spec.restartPolicy", "Sometimes")],
     'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'),
    ("Pod", [("spec.dnsPolicy", "Google")], 'spec.dnsPolicy: Unsupported value: "Google": supported values: '
     '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'),
    ("Pod", [("spec.activeDeadlineSeconds", 0)],
     "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"),
    ("Pod", [("spec.terminationGracePeriodSeconds", -1)],
     "spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0"),
    ("Pod", [("spec.nodeSelector", {"disk": "s s d"})],
     'spec.nodeSelector: Invalid value: "s s d": a valid label must be an empty string or consist of alphanumeric '
     "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
     "'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
    # TestValidateContainerPorts
    ("Pod", [(f"{PC}.ports", [{"containerPort": 65536}])],
     "spec.containers[0].ports[0].containerPort: Invalid value: 65536: must be between 1 and 65535, inclusive"),
    ("Pod", [(f"{PC}.ports", [{"containerPort": 0}])], "spec.containers[0].ports[0].containerPort: Required value"),
    ("Pod", [(f"{PC}.ports", [{"name": "a--b", "containerPort": 80}])],
     'spec.containers[0].ports[0].name: Invalid value: "a--b": must not contain consecutive hyphens'),
    ("Pod", [(f"{PC}.ports", [{"name": "123", "containerPort": 80}])],
     'spec.containers[0].ports[0].name: Invalid value: "123": must contain at least one letter (a-z)'),
    ("Pod", [(f"{PC}.ports", [{"name": "http", "containerPort": 80}, {"name": "http", "containerPort": 81}])],
     'spec.containers[0].ports[1].name: Duplicate value: "http"'),
    ("Pod", [(f"{PC}.ports", [{"containerPort": 80, "protocol": "ICMP"}])],
     'spec.containers[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"'),
    # TestValidateProbe, TestValidateHandler
    ("Pod", [(f"{PC}.readinessProbe", {"httpGet": {"port": 8080}, "periodSeconds": -1})],
     "spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0"),
    ("Pod", [(f"{PC}.livenessProbe", {"tcpSocket": {"port": 8080}, "successThreshold": 2})],
     "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"),
    ("Pod", [(f"{PC}.readinessProbe", {"periodSeconds": 5})],
     "spec.containers[0].readinessProbe: Required value: must specify a handler type"),
    ("Pod", [(f"{PC}.readinessProbe", {"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}})],
     "spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"),
    ("Pod", [(f"{PC}.readinessProbe", {"httpGet": {"port": "8080"}})],
     'spec.containers[0].readinessProbe.httpGet.port: Invalid value: "8080": must contain at least one letter (a-z)'),
    # TestValidateResourceRequirements
    ("Pod", [(f"{PC}.resources", {"requests": {"cpu": "-1"}})],
     'spec.containers[0].resources.requests.cpu: Invalid value: "-1": must be greater than or equal to 0'),
    ("Pod", [(f"{PC}.resources", {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}})],
     'spec.containers[0].resources.requests.cpu: Invalid value: "2": must be less than or equal to cpu limit of 1'),
    ("Pod", [(f"{PC}.resources", {"requests": {"disk": "1"}})],
     'spec.containers[0].resources.requests.disk: Invalid value: "disk": must be a standard resource for containers'),
    ("Pod", [(f"{PC}.resources", {"requests": {"example.com/gpu": "1"}, "limits": {"example.com/gpu": "2"}})],
     'spec.containers[0].resources.requests.example.com/gpu: Invalid value: "1": '
     "must be equal to example.com/gpu limit of 2"),
    # TestValidateTolerations
    ("Pod", [("spec.tolerations", [{"key": "a", "operator": "Exist"}])],
     'spec.tolerations[0].operator: Unsupported value: "Exist": supported values: "Equal", "Exists"'),
    ("Pod", [("spec.tolerations", [{"operator": "Equal", "value": "x"}])],
     'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, '
     'which means "match all values and all keys"'),
    # TestValidateObjectMeta, TestValidateLabels, TestValidateAnnotations
    ("Pod", [("metadata.labels", {"a b": "x"})],
     'metadata.labels: Invalid value: "a b": name part must consist of alphanumeric characters, \'-\', \'_\' or '
     "'.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
     "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
    ("Pod", [("metadata.annotations", {"a": "x" * (256 * 1024)})],
     "metadata.annotations: Too long: must have at most 262144 bytes"),
    ("Namespace", [("metadata.name", "a.b")], 'metadata.name: Invalid value: "a.b": must not contain dots'),
    # TestValidateService (pkg/apis/core/validation/validation_test.go)
    ("Service", [("metadata.name", "1web")],
     "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters "
     "or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
     "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"),
    ("Service", [("spec.ports", [])], "spec.ports: Required value"),
    ("Service", [("spec.ports", [{"name": "a", "port": 80}, {"port": 81}])], "spec.ports[1].name: Required value"),
    ("Service", [("spec.ports", [{"port": 65536, "targetPort": 8080}])],
     "spec.ports[0].port: Invalid value: 65536: must be between 1 and 65535, inclusive"),
    ("Service", [("spec.type", "Balanced")], 'spec.type: Unsupported value: "Balanced": supported values: '
     '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'),
    # TestValidateNode
    ("Node", [("spec.taints", [{"key": "k", "effect": "NoWay"}])], 'spec.taints[0].effect: Unsupported value: '
     '"NoWay": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'),
    ("Node", [("status.capacity", {"cpu": "12x"})], 'status.capacity.cpu: Invalid value: "12x": quantities must '
     "match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    # TestValidateHorizontalPodAutoscaler (pkg/apis/autoscaling/validation)
    ("HorizontalPodAutoscaler", [("spec.minReplicas", 0)],
     "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"),
    ("HorizontalPodAutoscaler", [("spec.minReplicas", 7)],
     "spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`"),
    # this project's Policy: its where must be a selector
    ("Policy", [("spec.deny.where", "cpu>two")], 'spec.deny.where: Invalid value: "cpu>two": '),
]


@pytest.mark.parametrize(("kind", "changes", "message"), CASES, ids=[c[2][:60] for c in CASES])
def test_one_change_gives_upstreams_error(kind, changes, message):
    errors = [str(e) for e in validate_object(build(kind, *changes))]
    assert len(errors) == 1, errors
    assert errors[0].startswith(message)


def test_several_errors_are_reported_together_as_upstreams_aggregate():
    d = build("Deployment", ("spec.replicas", -1), (f"{C}.name", "Web"), (f"{C}.resources.requests.cpu", "12x"))
    with pytest.raises(Invalid) as e:
        check_object(d)
    assert isinstance(e.value, InvalidObject) and len(e.value.errors) == 3
    text = str(e.value)
    assert text.startswith('Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: ')
    assert "spec.template.spec.containers[0].name: Invalid value: \"Web\"" in text
    assert 'spec.template.spec.containers[0].resources.requests.cpu: Invalid value: "12x"' in text


@pytest.mark.parametrize(("kind", "spec"), [
    ("Deployment", {"replicas": "three"}), ("Pod", {"containers": 5}), ("Pod", {"containers": [7]}),
    ("Pod", {"containers": [{"name": "c", "ports": [{"containerPort": "80"}]}]}),
    ("Pod", {"containers": [{"name": "c", "resources": {"requests": 1}}]}),
    ("Pod", {"containers": [{"name": "c", "env": [{"name": 5}]}]}),
    ("Service", {"ports": [{"port": True}]}), ("Deployment", {"template": 7, "selector": {"matchLabels": LABELS}}),
    ("Deployment", {"selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}),
])
def test_values_of_the_wrong_type_are_errors_not_exceptions(kind, spec):
    """Built by hand (``.set``), past the model's defaulting: validation still answers in words."""
    obj = build(kind)
    errors = validate_object(obj.set(spec=freeze(spec)))
    assert errors and all(e.field.startswith("spec") for e in errors)


def test_replicas_up_to_the_bound_are_accepted():
    assert validate_object(build("Deployment", ("spec.replicas", MAX_REPLICAS))) == []
    assert validate_object(build("Deployment", ("spec.replicas", MAX_REPLICAS + 1)))
