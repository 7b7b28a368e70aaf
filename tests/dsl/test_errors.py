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
    assert msgs[0][0] == 1 and "needs at least one container" in msgs[0][1]
    assert msgs[1][0] == 2 and msgs[1][1].startswith("unknown field 'replica' in a deployment "
                                                      "(did you mean 'replicas'?)")
    assert msgs[2][0] == 4 and "(did you mean 'container'?)" in msgs[2][1]
    assert msgs[3] == (5, "replicas must be 0 or more, got -1")
    assert e.render().endswith("4 errors")


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
     "the file ends inside a block: a '}' is missing (the '{' on line 1 is never closed)"),
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
