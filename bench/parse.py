"""Parse speed: the reconcile language against Kubernetes YAML, in one process.

The same cluster is written twice, as text in our language and as the
equivalent multi-document Kubernetes YAML: N deployments and N services
(N=10,000 by default). Each deployment has labels (``app=web-{i}``, a tier,
and on some an extra ``track`` label), the default selector (its labels;
``spec.selector.matchLabels`` in YAML) and one container with a command, a
named port and cpu/memory requests; each service selects its deployment's
pods and maps port 80 to the container port's name.

Before timing, the script checks once that both texts describe the same
objects: ``dsl.parse(text)`` gives 2N objects and ``dsl.load_yaml(yaml)``
gives equal ones (``to_dict()`` compared after sorting by kind and name).

Then, in this one process, each of these is run ``--repeat`` times
(``gc.collect()`` before each run, ``time.perf_counter`` around it):

  dsl.parse          language text -> validated, defaulted model objects
  yaml CSafeLoader   the YAML -> plain dicts (libyaml, C)
  yaml SafeLoader    the YAML -> plain dicts (pure Python; slow, tens of
                     seconds per run at N=10,000 -- a line per run shows progress)

How to read the output: the median of each is reported with every run.
Two ratios of medians are checked against goals:

  dsl.parse / CSafeLoader   goal <= 1.0  (the language no slower than libyaml)
  SafeLoader / dsl.parse    goal >= 5x   (well ahead of pure-Python YAML)

The YAML loaders do less work than dsl.parse (they build plain dicts: no
checks, no defaults, no model objects), so the comparison is conservative.
dsl.parse turns the cycle collector off while it runs; the loaders run with
the interpreter's default gc settings. On a shared, noisy machine compare
the spread of the runs with the gaps between medians before trusting a
PASS/MISS near the line.

    python bench/parse.py                   # N=10,000, 5 runs each (a few minutes)
    python bench/parse.py --quick           # N=1,000, 3 runs each (smoke run)
    python bench/parse.py --n 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import yaml

import dsl

_TIERS = ("frontend", "backend", "cache")


def _labels(i: int) -> list[tuple[str, str]]:
    """The labels of deployment i (they vary a little with i)."""
    labels = [("app", f"web-{i}"), ("tier", _TIERS[i % 3])]
    if i % 7 == 0:
        labels.append(("track", "canary"))
    return labels


def _fields(i: int) -> tuple[int, int, int, int]:
    """replicas, container port, cpu (millicores), memory (Mi) of deployment i."""
    return 1 + i % 5, 8000 + i % 1000, 100 + i % 900, 64 + i % 64


def cluster_text(n: int) -> str:
    """N deployments and N services in the reconcile language."""
    parts = []
    for i in range(n):
        replicas, port, cpu, mem = _fields(i)
        labels = " ".join(f"{k}={v}" for k, v in _labels(i))
        parts.append(
            f"deployment web-{i} {{\n"
            f"  replicas {replicas}\n"
            f"  labels {labels}\n"
            f"  container main {{\n"
            f"    command python -m http.server $PORT\n"
            f"    port http {port}\n"
            f"    requests cpu={cpu}m memory={mem}Mi\n"
            f"  }}\n"
            f"}}\n"
            f"service web-{i} {{ selector app=web-{i}  port 80 -> http }}\n"
        )
    return "\n".join(parts)


def cluster_yaml(n: int) -> str:
    """The same objects as Kubernetes YAML, documents separated by ``---``."""
    docs = []
    for i in range(n):
        replicas, port, cpu, mem = _fields(i)
        labels = _labels(i)

        def block(indent: int) -> str:
            return "".join(f"{' ' * indent}{k}: {v}\n" for k, v in labels)

        docs.append(
            "apiVersion: apps/v1\n"
            "kind: Deployment\n"
            "metadata:\n"
            f"  name: web-{i}\n"
            "  namespace: default\n"
            "  labels:\n"
            f"{block(4)}"
            "spec:\n"
            f"  replicas: {replicas}\n"
            "  selector:\n"
            "    matchLabels:\n"
            f"{block(6)}"
            "  template:\n"
            "    metadata:\n"
            "      labels:\n"
            f"{block(8)}"
            "    spec:\n"
            "      containers:\n"
            "      - name: main\n"
            "        command: [python, -m, http.server, $PORT]\n"
            "        ports:\n"
            "        - name: http\n"
            f"          containerPort: {port}\n"
            "        resources:\n"
            "          requests:\n"
            f"            cpu: {cpu}m\n"
            f"            memory: {mem}Mi\n"
        )
        docs.append(
            "apiVersion: v1\n"
            "kind: Service\n"
            "metadata:\n"
            f"  name: web-{i}\n"
            "  namespace: default\n"
            "spec:\n"
            "  selector:\n"
            f"    app: web-{i}\n"
            "  ports:\n"
            "  - port: 80\n"
            "    targetPort: http\n"
        )
    return "---\n".join(docs)


def _sorted_dicts(objects) -> list[dict]:
    return [o.to_dict() for o in sorted(objects, key=lambda o: (o.kind, o.name))]


def check_same(text: str, ytext: str, n: int) -> None:
    """Both texts describe the same 2N objects (raises AssertionError if not)."""
    ours = dsl.parse(text)
    assert len(ours) == 2 * n, f"dsl.parse gave {len(ours)} objects, expected {2 * n}"
    try:
        load_yaml = dsl.load_yaml
    except AttributeError:
        print("note: dsl.load_yaml is not available; skipped the YAML equivalence check")
        return
    theirs = load_yaml(ytext)
    assert len(theirs) == 2 * n, f"dsl.load_yaml gave {len(theirs)} objects, expected {2 * n}"
    a, b = _sorted_dicts(ours), _sorted_dicts(theirs)
    for x, y in zip(a, b):
        assert x == y, f"language and YAML differ:\n  language: {x}\n  YAML:     {y}"
    print(f"check: dsl.parse and dsl.load_yaml give the same {2 * n:,} objects")


def timed(label: str, fn, repeat: int) -> list[float]:
    runs = []
    for k in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
        print(f"  {label:<12} run {k + 1}/{repeat}: {runs[-1]:8.3f} s", flush=True)
    return runs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000, help="deployments (and as many services); default 10,000")
    p.add_argument("--repeat", type=int, default=5, help="runs of each; the median is reported (default 5)")
    p.add_argument("--quick", action="store_true", help="smoke run: N=1,000 and 3 runs")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.repeat = 1_000, 3
    if args.n < 1 or args.repeat < 1:
        p.error("--n and --repeat must be at least 1")

    text, ytext = cluster_text(args.n), cluster_yaml(args.n)
    print(f"{2 * args.n:,} objects ({args.n:,} deployments, {args.n:,} services); "
          f"language {len(text.encode()):,} bytes, YAML {len(ytext.encode()):,} bytes; "
          f"{args.repeat} runs each", flush=True)
    check_same(text, ytext, args.n)

    t_dsl = timed("dsl.parse", lambda: dsl.parse(text), args.repeat)
    t_c = timed("CSafeLoader", lambda: list(yaml.load_all(ytext, Loader=yaml.CSafeLoader)), args.repeat)
    t_py = timed("SafeLoader", lambda: list(yaml.load_all(ytext, Loader=yaml.SafeLoader)), args.repeat)

    print()
    medians = {}
    for label, runs in (("dsl.parse", t_dsl), ("yaml CSafeLoader", t_c), ("yaml SafeLoader", t_py)):
        medians[label] = m = statistics.median(runs)
        spread = (max(runs) - min(runs)) / m if m else 0.0
        print(f"median {label:<17} {m:8.3f} s  ({2 * args.n / m:>9,.0f} objects/s; "
              f"spread {spread:4.0%})  runs: {', '.join(f'{r:.3f}' for r in runs)}")
    m_dsl, m_c, m_py = medians.values()
    r1, r2 = m_dsl / m_c, m_py / m_dsl
    print(f"dsl.parse / CSafeLoader = {r1:5.2f}   (goal <= 1.0: {'PASS' if r1 <= 1.0 else 'MISS'})")
    print(f"SafeLoader / dsl.parse  = {r2:5.1f}x  (goal >= 5x:  {'PASS' if r2 >= 5 else 'MISS'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
