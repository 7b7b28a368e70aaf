"""Fuzzing: mutated and random inputs either parse or raise a DslError with a place.

Nothing else may escape dsl.parse or dsl.parse_selector: no Lark exception,
no KeyError from a half-built statement, no traceback for a user to read.
"""

import pathlib
import random

import pytest

import dsl

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEEDS = [p.read_text() for p in sorted((ROOT / "examples").glob("*.cluster"))] + [
    """namespace shop
nodes worker x3 { capacity cpu=2 memory=4Gi pods=20 labels zone=a disk=ssd taint gpu=true:NoSchedule }
deployment web {
  replicas 3
  labels app=web tier=frontend
  strategy rolling max-surge=25% max-unavailable=0
  image pip=[flask==3.1] env=[GREETING=hello]
  container http {
    command python -m shop.web --port $PORT
    port http 8080
    requests cpu=250m memory=128Mi
    readiness http /healthz every 2s
    liveness exec ["cat", "/tmp/ok"] failures 5
  }
  node-selector disk=ssd
  tolerate gpu=true:NoSchedule
}
service web { selector app=web port 80 -> http }
job migrate { completions 1 backoff-limit 3 container main { command "python" '-m' x } }
cronjob nightly { schedule "0 3 * * *" concurrency forbid container main { call shop.jobs:nightly } }
daemonset log-agent { labels app=log-agent container main { call shop.logs:agent } }
statefulset kv { replicas 3 labels app=kv service-name kv container main { command python -m kv --id $POD_ORDINAL } }
autoscale web { min 2 max 10 target cpu 70% }
rule restart-stuck { when count pods(app=web, phase=Pending) > 0 for 2m then rollout restart deployment web }
policy require-cpu { deny pods where !requests.cpu, tier notin (a, b) message "every container must request cpu" }
"""]
SELECTOR_SEEDS = ["app=web", "a==b,c!=d", "tier in (a, b),!x", "x notin (1,2),y", "k>3,l<4",
                  "where app=web and tier in (a,b)", "example.com/key=v-1.2_3", "", "a,b,c"]
ALPHABET = "abcxyz019 =!<>(),{}[]\"'#\\/:-_.%$\n\t*é\x00"
WORDS = ["deployment", "service", "replicas", "labels", "container", "command", "port", "->",
         "{", "}", "(", ")", "[", "]", "=", ",", "in", "notin", "!", "where", "and", "selector",
         "nodes", "x3", "image", "pip", "env", "requests", "cpu=250m", "\"str\"", "readiness",
         "http", "/healthz", "every", "2s", "rule", "when", "count", "then", "policy", "deny",
         "message", "namespace", "web", "app=web", "\n", "#c\n", "call", "a:b", "strategy"]


def _mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        i = rng.randrange(len(chars) + 1)
        if op < 0.3 and chars:
            del chars[min(i, len(chars) - 1)]
        elif op < 0.6:
            chars.insert(i, rng.choice(ALPHABET))
        elif op < 0.8 and chars:
            chars[min(i, len(chars) - 1)] = rng.choice(ALPHABET)
        elif op < 0.9:
            chars.insert(i, " " + rng.choice(WORDS) + " ")
        else:
            chars = chars[:i]
    return "".join(chars)


def _random(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 30)))
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 80)))


def _inputs(seeds, n, seed):
    rng = random.Random(seed)
    for i in range(n):
        if i % 4 == 3:
            yield _random(rng)
        else:
            yield _mutate(rng, rng.choice(seeds))


def _check_error(e: dsl.DslError, text: str):
    assert isinstance(e.line, int) and e.line >= 1, (text, e)
    assert isinstance(e.column, int) and e.column >= 1, (text, e)
    assert e.line <= text.count("\n") + 1, (text, e)
    rendered = e.render()
    assert "Traceback" not in rendered and "lark" not in rendered.lower(), rendered


def test_parse_survives_10000_mutated_and_random_inputs():
    outcomes = {"parsed": 0, "errors": 0}
    for text in _inputs(SEEDS, 10_000, seed=20261126):
        try:
            dsl.parse(text, "fuzz.cluster")
            outcomes["parsed"] += 1
        except dsl.DslError as e:
            _check_error(e, text)
            for sub in e.errors:
                _check_error(sub, text)
            outcomes["errors"] += 1
    # both outcomes happen, so the fuzzer exercises the parser and the checks
    assert outcomes["parsed"] > 100 and outcomes["errors"] > 1000, outcomes


def test_parse_selector_survives_10000_mutated_and_random_inputs():
    outcomes = {"parsed": 0, "errors": 0}
    for text in _inputs(SELECTOR_SEEDS, 10_000, seed=7):
        try:
            sel = dsl.parse_selector(text)
            sel.matches({"app": "web", "tier": "a", "k": "5"})
            outcomes["parsed"] += 1
        except dsl.SelectorError as e:
            assert isinstance(e, dsl.DslError) and isinstance(e, ValueError)
            _check_error(e, text)
            outcomes["errors"] += 1
    assert outcomes["parsed"] > 500 and outcomes["errors"] > 1000, outcomes


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "}", "{", "deployment",
                                  "deployment web {", "\x00", "é", "\"unterminated", "[", "]]]"])
def test_edge_inputs_parse_or_fail_cleanly(text):
    try:
        dsl.parse(text)
    except dsl.DslError as e:
        _check_error(e, text)
