"""What each statement of the language becomes, in Kubernetes terms."""

import json

import pytest

import dsl
from reconcile.api.model import thaw


def one(text):
    (obj,) = dsl.parse(text)
    return obj


def spec(text):
    return thaw(one(text).spec)


WEB = """deployment web {
  replicas 3
  labels app=web tier=frontend
  container main {
    command python -m http.server $PORT
    port http 8080
    requests cpu=0.25 memory=128Mi
  }
}"""


def test_deployment_becomes_a_kubernetes_deployment_with_defaults():
    d = one(WEB)
    assert (d.apiVersion, d.kind, d.name, d.namespace) == ("apps/v1", "Deployment", "web", "default")
    s = thaw(d.spec)
    assert s["replicas"] == 3
    assert s["selector"] == {"matchLabels": {"app": "web", "tier": "frontend"}}
    assert s["strategy"] == {"type": "RollingUpdate",
                             "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert s["revisionHistoryLimit"] == 10 and s["progressDeadlineSeconds"] == 600
    pod = s["template"]["spec"]
    assert pod["restartPolicy"] == "Always" and pod["terminationGracePeriodSeconds"] == 30
    (c,) = pod["containers"]
    assert c["command"] == ["python", "-m", "http.server", "$PORT"]
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert c["resources"] == {"requests": {"cpu": "250m", "memory": "128Mi"}}   # canonical quantities
    assert dict(d.metadata.labels) == {"app": "web", "tier": "frontend"}


def test_pod_labels_are_shared_not_copied_between_selector_and_template():
    d = one(WEB)
    assert dict(d.spec["template"]["metadata"]["labels"]) == dict(d.spec["selector"]["matchLabels"])


@pytest.mark.parametrize("line, expected", [
    ("strategy recreate", {"type": "Recreate"}),
    ("strategy rolling max-surge=1 max-unavailable=0",
     {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
    ("strategy rolling max-surge=50%",
     {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": "25%"}}),
])
def test_deployment_strategies(line, expected):
    s = spec(WEB.replace("replicas 3", "replicas 3\n  " + line))
    assert s["strategy"] == expected


@pytest.mark.parametrize("line, key, value", [
    ("min-ready 10s", "minReadySeconds", 10),
    ("revision-history 3", "revisionHistoryLimit", 3),
    ("progress-deadline 5m", "progressDeadlineSeconds", 300),
    ("paused", "paused", True),
    ("selector app=web, tier in (frontend, edge)", "selector",
     {"matchLabels": {"app": "web"},
      "matchExpressions": [{"key": "tier", "operator": "In", "values": ["edge", "frontend"]}]}),
])
def test_deployment_settings(line, key, value):
    assert spec(WEB.replace("replicas 3", "replicas 3\n  " + line))[key] == value


@pytest.mark.parametrize("line, key, value", [
    ("node-selector disk=ssd", "nodeSelector", {"disk": "ssd"}),
    ("tolerate gpu=true:NoSchedule", "tolerations",
     [{"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]),
    ("tolerate node.kubernetes.io/unreachable:NoExecute for 30s", "tolerations",
     [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
       "tolerationSeconds": 30}]),
    ("tolerate all", "tolerations", [{"operator": "Exists"}]),
    ("restart always", "restartPolicy", "Always"),
    ("termination-grace 1m", "terminationGracePeriodSeconds", 60),
    ("scheduler my-scheduler", "schedulerName", "my-scheduler"),
])
def test_pod_level_fields(line, key, value):
    assert spec(WEB.replace("replicas 3", "replicas 3\n  " + line))["template"]["spec"][key] == value


def test_image_is_a_ray_runtime_env_shared_by_the_containers():
    s = spec(WEB.replace("replicas 3", 'replicas 3\n  image pip=[flask==3.1, "requests>=2"] '
                                       'env=[GREETING=hello, "MSG=a b"] working-dir="./app"'))
    env = json.loads(s["template"]["spec"]["containers"][0]["image"])
    assert env == {"pip": ["flask==3.1", "requests>=2"], "env_vars": {"GREETING": "hello", "MSG": "a b"},
                   "working_dir": "./app"}


def test_a_plain_image_string_is_kept():
    s = spec(WEB.replace("replicas 3", 'replicas 3\n  image "nginx:1.27"'))
    assert s["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"


@pytest.mark.parametrize("line, key, value", [
    ("readiness http /healthz every 2s", "readinessProbe",
     {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"}, "periodSeconds": 2,
      "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3}),
    ("liveness tcp 8080 after 5s timeout 2s failures 5", "livenessProbe",
     {"tcpSocket": {"port": 8080}, "initialDelaySeconds": 5, "timeoutSeconds": 2, "periodSeconds": 10,
      "successThreshold": 1, "failureThreshold": 5}),
    ('startup exec ["cat", "/tmp/ready"] every 1s', "startupProbe",
     {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1, "timeoutSeconds": 1,
      "successThreshold": 1, "failureThreshold": 3}),
    ("env GREETING=hello EMPTY=\"\" SPACE=\"a b\"", "env",
     [{"name": "GREETING", "value": "hello"}, {"name": "EMPTY", "value": ""},
      {"name": "SPACE", "value": "a b"}]),
    ("limits cpu=1 memory=1Gi", "resources", {"requests": {"cpu": "250m", "memory": "128Mi"},
                                              "limits": {"cpu": "1", "memory": "1Gi"}}),
    ("args --verbose 'two words'", "args", ["--verbose", "two words"]),
    ('workdir "/srv"', "workingDir", "/srv"),
])
def test_container_fields(line, key, value):
    s = spec(WEB.replace("port http 8080", "port http 8080\n    " + line))
    assert s["template"]["spec"]["containers"][0][key] == value


def test_quoted_commands_and_the_list_form():
    s = spec(WEB.replace("command python -m http.server $PORT",
                         """command python -c "print('a # b')" 'x y'"""))
    assert s["template"]["spec"]["containers"][0]["command"] == ["python", "-c", "print('a # b')", "x y"]
    s = spec(WEB.replace("command python -m http.server $PORT", 'command ["sh", "-c", "echo {}\\n"]'))
    assert s["template"]["spec"]["containers"][0]["command"] == ["sh", "-c", "echo {}\n"]


def test_call_runs_a_python_callable_through_reconcile_call():
    d = one("daemonset agent { labels app=agent container main { call shop.logs:agent } }")
    c = d.spec["template"]["spec"]["containers"][0]
    assert list(c["command"]) == ["python", "-m", "cluster_ray.call", "shop.logs:agent"]
    assert d.spec["updateStrategy"]["rollingUpdate"]["maxUnavailable"] == 1


def test_namespace_statement_declares_and_switches():
    m = dsl.parse("namespace shop { labels team=a }\n" + WEB + "\nin namespace default\n"
                  + WEB.replace("deployment web", "deployment other"))
    assert [(o.kind, o.namespace, o.name) for o in m] == [
        ("Namespace", None, "shop"), ("Deployment", "shop", "web"), ("Deployment", "default", "other")]
    assert dict(m[0].metadata.labels) == {"team": "a"}


def test_nodes_groups_become_numbered_nodes():
    m = dsl.parse("nodes worker x3 { capacity cpu=2 memory=4Gi pods=20\n labels zone=a\n"
                  " taint gpu=true:NoSchedule\n unschedulable }")
    assert [o.name for o in m] == ["worker-1", "worker-2", "worker-3"]
    n = m[1]
    assert thaw(n.status) == {"capacity": {"cpu": "2", "memory": "4Gi", "pods": "20"},
                              "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "20"}}
    assert thaw(n.spec) == {"taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}],
                            "unschedulable": True}
    assert n.namespace is None


def test_service_ports_and_defaults():
    s = spec("service web { selector app=web port 80 -> http }")
    assert s == {"selector": {"app": "web"}, "type": "ClusterIP", "sessionAffinity": "None",
                 "ports": [{"port": 80, "targetPort": "http", "protocol": "TCP"}]}
    s = spec("service dns { selector app=dns\n port dns 53 udp -> 5353\n port metrics 9090\n type headless }")
    assert s["ports"] == [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353},
                          {"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": 9090}]
    assert s["clusterIP"] == "None"


def test_job_and_cronjob():
    s = spec("job migrate { completions 3 parallelism 2 backoff-limit 1 active-deadline 10m\n"
             " container main { command python -m migrate } }")
    assert (s["completions"], s["parallelism"], s["backoffLimit"], s["activeDeadlineSeconds"]) == (3, 2, 1, 600)
    assert s["template"]["spec"]["restartPolicy"] == "Never"
    assert "selector" not in s
    s = spec('cronjob nightly { schedule "0 3 * * *" concurrency forbid keep-failed 2\n'
             ' container main { command run } }')
    assert (s["schedule"], s["concurrencyPolicy"], s["failedJobsHistoryLimit"]) == ("0 3 * * *", "Forbid", 2)
    assert s["jobTemplate"]["spec"]["backoffLimit"] == 6


def test_statefulset():
    s = spec("statefulset kv { replicas 3 labels app=kv service-name kv pod-management parallel\n"
             " strategy rolling partition=1\n container main { command kv --id $POD_ORDINAL } }")
    assert (s["replicas"], s["serviceName"], s["podManagementPolicy"]) == (3, "kv", "Parallel")
    assert s["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}


def test_autoscale_becomes_an_hpa():
    a = one("autoscale web { min 2 max 10 target cpu 70% target memory 500Mi }")
    assert (a.apiVersion, a.kind) == ("autoscaling/v2", "HorizontalPodAutoscaler")
    assert thaw(a.spec) == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 2, "maxReplicas": 10,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "averageUtilization": 70}}},
                    {"type": "Resource", "resource": {"name": "memory", "target": {
                        "type": "AverageValue", "averageValue": "500Mi"}}}]}


def test_rule_and_policy():
    r = one("rule restart-stuck {\n when count pods(app=web, phase=Pending) > 0 for 2m\n"
            " then rollout restart deployment web\n}")
    assert thaw(r.spec) == {
        "when": {"kind": "Pod", "selector": "app=web", "fieldSelector": "status.phase=Pending",
                 "operator": ">", "count": 0, "forSeconds": 120},
        "then": {"action": "RolloutRestart", "kind": "Deployment", "name": "web"}}
    r = one("rule shrink { when count nodes(zone=a) < 2 then scale deployment web 1 }")
    assert thaw(r.spec)["then"] == {"action": "Scale", "kind": "Deployment", "name": "web", "replicas": 1}
    p = one('policy require-cpu { deny pods where !requests.cpu message "every container must request cpu" }')
    assert (p.apiVersion, p.namespace) == ("reconcile.dev/v1", None)
    assert thaw(p.spec) == {"deny": {"kind": "Pod", "where": "!requests.cpu"},
                            "message": "every container must request cpu"}


def test_comments_and_string_escapes():
    d = one('# a comment\ndeployment web { # trailing\n labels app=web\n'
            ' annotations note="tab\\there \\u00e9 \\"q\\""\n container c { command x } }')
    assert d.metadata.annotations["note"] == 'tab\there é "q"'


def test_parse_file_names_the_file_in_errors(tmp_path):
    p = tmp_path / "bad.cluster"
    p.write_text("deployment web {\n  replicas lots\n}\n")
    with pytest.raises(dsl.DslError) as e:
        dsl.parse_file(p)
    assert e.value.path == str(p) and str(p) in e.value.render()


@pytest.mark.parametrize("text", ["namespace shop\n# the end", "# only a comment\n", "namespace a # c"])
def test_comments_anywhere_even_at_the_end(text):
    dsl.parse(text)


def test_cronjob_suspend_suspends_the_cronjob():
    s = spec('cronjob c { schedule "@hourly" suspend container m { command x } }')
    assert s["suspend"] is True and s["jobTemplate"]["spec"]["suspend"] is False


def test_unknown_escapes_stay_as_written_and_the_others_still_work():
    d = one('deployment w { labels a=b annotations x="a\\q\\n" container c { command x } }')
    assert d.metadata.annotations["x"] == "a\\q\n"


def test_spaces_around_equals_in_assignments():
    d = one("deployment w { labels app = web container c { command x } }")
    assert dict(d.metadata.labels) == {"app": "web"}
