"""Errors people can act on: where, what was expected in words, all at once, nothing produced."""

import pytest

import dsl

GOOD_CONTAINER = "container main { command x\n port http 80 }"


def error_of(text):
    with pytest.raises(dsl.DslError) as e:
        dsl.parse(text, "shop.cluster")
    return e.value


def test_a_syntax_error_names_file_line_column_and_shows_a_caret():
    e = error_of("deployment web {\n  replicas 3\n  labels app=web\n  container main {\n"
                 "    requests cpu=\n  }\n}\n")
    assert isinstance(e, dsl.DslSyntaxError) and isinstance(e, ValueError)
    assert (e.path, e.line, e.column) == ("shop.cluster", 6, 3)
    assert e.message == "expected a quantity like 250m or 2Gi after '=', found '}'"
    assert e.render() == ("shop.cluster:6:3: expected a quantity like 250m or 2Gi after '=', found '}'\n"
                          "      }\n"
                          "      ^")


def test_an_invalid_quantity_is_explained_in_words():
    e = error_of("deployment web { labels app=web\n container main { command x\n"
                 "  requests cpu=12x } }")
    assert (e.line, e.column) == (3, 16)
    assert e.message == "requests cpu: expected a quantity like 250m or 2Gi, got '12x'"


def test_unknown_fields_are_reported_with_a_suggestion_and_all_together():
    e = error_of("deployment web {\n  replica 3\n  labels app=web\n  contianer main { command x }\n"
                 "  replicas -1\n}\n")
    msgs = [(x.line, x.message) for x in e.errors]
    assert isinstance(e, dsl.DslErrors)
    assert msgs[0][0] == 2 and msgs[0][1].startswith("unknown field 'replica' in a deployment "
                                                      "(did you mean 'replicas'?)")
    assert msgs[1][0] == 4 and "(did you mean 'container'?)" in msgs[1][1]
    assert msgs[2] == (5, "replicas must be 0 or more, got -1")
    # the skipped container does not make a false "needs at least one container" error
    assert e.render().endswith("3 errors")


def test_semantic_errors_are_collected_together():
    text = f"""deployment web {{
  replicas 2
  labels app=web
  selector app=other
  {GOOD_CONTAINER}
}}
deployment web {{ labels app=web {GOOD_CONTAINER} }}
service Web {{ selector app=web port 80 -> nope }}
service api {{ selector app=web port 80 -> nope }}
deployment bad_name {{ labels app=x {GOOD_CONTAINER} }}
autoscale web {{ min 5 max 2 }}
"""
    e = error_of(text)
    messages = [x.message for x in e.errors]
    assert any("selector does not match the pod labels (app=web)" in m for m in messages)
    assert any("deployment 'web' is defined twice (first on line 1)" in m for m in messages)
    assert any(m.startswith("invalid service name 'Web'") for m in messages)
    assert any("service 'api' targets port 'nope', but the pods it selects have no port of that name "
               "(their ports: http)" in m for m in messages)
    assert any(m.startswith("invalid deployment name 'bad_name'") for m in messages)
    assert any(m == "min must not be more than max" for m in messages)
    assert [x.line for x in e.errors] == sorted(x.line for x in e.errors)


@pytest.mark.parametrize("text, message", [
    ("deployment web {\n  replicas 3\n  labels app=web\n  container main { command x }\n",
     "this '{' is never closed: the file ends inside its block (a '}' is missing)"),
    ("deploymnet web { }",
     "unknown statement 'deploymnet' in the file (did you mean 'deployment'?); expected one of: "
     "autoscale, cronjob, daemonset, deployment, in, job, namespace, nodes, policy, replicaset, rule, "
     "service, statefulset"),
    ("deployment web { replicas }", "expected a number of replicas, like 'replicas 3' after 'replicas', found '}'"),
    ("service web { selector app in (a port 80 }", "expected ')' or ',', found 'port'"),
    ("service web { selector !app=b port 80 }", "expected one of: ',', 'annotations'"),
    ("deployment web { labels app=web container main { command x } strategy rolling max-surge=0 "
     "max-unavailable=0 }",
     "max-surge and max-unavailable cannot both be 0: the rollout could never make progress"),
    ("job j { restart always container c { command x } }",
     "a Job's pods must restart on-failure or never, not always"),
    ("deployment web { labels app=web container main { command x } min-ready 1.5s }",
     "min-ready must be whole seconds, got '1.5s'"),
    ("deployment web { labels app=web container main { command x\n readiness http /h } }",
     "readiness probe needs a port: add 'on PORT', or a port line before it"),
    ("deployment web { labels app=web container main { command x } backoff-limit 2 }",
     "'backoff-limit' is not a field of a deployment"),
    ("deployment web { labels app=web!x container main { command x } }", None),
    ("cronjob c { container m { command x } }", 'a cronjob needs a schedule, like schedule "*/5 * * * *"'),
    ('deployment web { labels app=web container main { command "unterminated } }', None),
])
def test_error_messages(text, message):
    e = error_of(text)
    assert e.line >= 1 and e.column >= 1
    if message is not None:
        assert any(x.message.startswith(message) for x in e.errors), [x.message for x in e.errors]


def test_nothing_is_produced_from_a_file_with_any_error():
    good = f"deployment a {{ labels app=a {GOOD_CONTAINER} }}\n"
    with pytest.raises(dsl.DslError):
        dsl.parse(good * 3 + "deployment b { labels app=b replicas -2 " + GOOD_CONTAINER + " }")


def test_errors_are_value_errors_and_never_lark_exceptions():
    import lark
    for text in ["{", "deployment", "service x { port }", "rule r { when count pods() > x then }"]:
        with pytest.raises(dsl.DslError) as e:
            dsl.parse(text)
        assert not isinstance(e.value, lark.exceptions.LarkError)
        assert isinstance(e.value, ValueError)
        assert e.value.__cause__ is None or not isinstance(e.value.__cause__, lark.exceptions.LarkError)


C = "container c { command x }"


@pytest.mark.parametrize("text, message", [
    ("deployment w { labels a=b restart never " + C + " }",
     "a deployment's pods always restart (Kubernetes allows only 'restart always' here"),
    ("deployment w { labels a=b container c { command x\n requests cpu=2\n limits cpu=1 } }",
     "requests cpu (2) must be no more than limits cpu (1)"),
    ("daemonset d { labels a=b strategy rolling max-surge=0 max-unavailable=0 " + C + " }",
     "max-surge and max-unavailable cannot both be 0"),
    ("deployment w { labels a=b strategy rolling max-unavailable=150% " + C + " }",
     "max-unavailable must not be more than 100%"),
    ("deployment w { labels a=b min-ready 10m progress-deadline 5m " + C + " }",
     "progress-deadline must be longer than min-ready"),
    ("service web { port a 80\n port a 81 }", "port name 'a' is used twice in service 'web'"),
    ("service web { port 80\n port 80 }", "port 80/TCP is given twice in service 'web'"),
    ("deployment w { labels a=b container c { command x\n port http 80\n port http 81 } }",
     "port name 'http' is used twice in this container"),
    ("service web { port HTTP_X 80 }", "invalid service port name 'HTTP_X'"),
    ("service web { port 80 -> Bad_Name }", "invalid target port name 'Bad_Name'"),
    ("service web { port 80 type node-port type headless }", "type is given twice"),
    ("nodes n { taint a=b:NoSchedule taint a=c:NoSchedule }", "a taint with the same key and effect is given twice"),
    ("nodes n { capacity cpu=1\n capacity cpu=2 }", "capacity is given twice"),
    ("nodes n { capacity cpu=1 cpu=2 }", "capacity 'cpu' is set twice"),
    ('cronjob c { schedule "@bogus" ' + C + " }", "schedule '@bogus' is not a cron schedule"),
    ('deployment w { labels a=b scheduler "My Sched" ' + C + " }", "invalid scheduler name 'My Sched'"),
    ('deployment w { labels a=b container c { command x\n requests "bad key"=1 } }', "invalid resource name 'bad key'"),
    ("rule r { when count pods() > 1 then cordon deployment web }", "cordon applies to node, not deployment"),
    ("rule r { when count pods() > 1 then scale node n1 3 }",
     "scale applies to deployment or replicaset or statefulset, not node"),
    ("deployment w { labels a=b container c { command x\n liveness tcp 8080 on 9090 } }",
     "a tcp probe names its port once"),
    ("deployment w { labels a=b container c { command [] } }", "command needs at least one word"),
    ("deployment w { labels a=b container c { call a:b\n command x } }",
     "a container has either 'command' or 'call', not both"),
    ("deployment w { labels a=b selector a=b and c=d " + C + " }",
     "expected ',' between requirements, found 'and'"),
])
def test_kubernetes_checks(text, message):
    e = error_of(text)
    found = [x.message for x in e.errors]
    assert sum(m.startswith(message) for m in found) == 1, found


def test_a_selector_error_reports_no_false_errors_from_the_skipped_part():
    e = error_of("deployment w { labels a=b selector a=b and c=d container c { command x } }")
    assert [(x.line, x.column) for x in e.errors] == [(1, 40)]


def test_missing_brace_points_at_the_open_brace():
    e = error_of("service a { port 80 }\ndeployment web {\n  replicas 3\n")
    assert (e.line, e.column) == (2, 16)


def test_a_very_long_list_of_errors_shows_the_first_50_and_the_count():
    text = "".join(f"service s{i} {{ port 80 }}\nservice s{i} {{ port 81 }}\n" for i in range(60))
    e = error_of(text)
    rendered = e.render()
    assert len(e.errors) == 60
    assert rendered.endswith("... and 10 more\n60 errors")
    assert rendered.count("is defined twice") == 50


def test_container_ports_may_go_unnamed_and_a_repeated_name_is_found_where_it_is():
    ok = dsl.parse("deployment a {\n  labels app=a\n  container c {\n    command x\n    port 80\n    port 81\n  }\n}\n")
    assert [p["containerPort"] for p in ok[0].spec["template"]["spec"]["containers"][0]["ports"]] == [80, 81]
    with pytest.raises(dsl.DslError) as e:
        dsl.parse("deployment a {\n  labels app=a\n  container c {\n    command x\n    port 80 -> web\n"
                  "    port web 81\n    port 82\n    port web 83\n  }\n}\n", "f.cluster")
    messages = [str(x) for x in getattr(e.value, "errors", [e.value])]
    assert any(m.startswith("f.cluster:8:10: port name 'web' is used twice") for m in messages), messages
