"""Parse speed: the reconcile language against Kubernetes YAML, in one process.

What it measures, on the same cluster written both ways (N deployments and
N services; each deployment with labels, a selector and one container with
a command, a named port and requests; each service selecting its pods):

  dsl.parse          text of the language -> validated, defaulted model objects
  yaml CSafeLoader   the equivalent Kubernetes YAML -> plain dicts (libyaml, C)
  yaml SafeLoader    the same YAML -> plain dicts (pure Python)

Each is timed --repeat times (median reported, every run shown). The goals:
dsl.parse no slower than CSafeLoader (ratio <= 1.0) and at least 5x faster
than SafeLoader. The YAML loaders do less work than dsl.parse (no checks,
no defaults, no model objects), which makes the comparison conservative.

    python bench/parse.py            # N=10,000, 5 runs each (a few minutes)
    python bench/parse.py --quick    # N=1,000, 3 runs each
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import yaml

import dsl


def cluster_text(n: int) -> str:
    parts = []
    for i in range(n):
        tier = ("frontend", "backend", "cache")[i % 3]
        parts.append(f"""deployment web-{i} {{
  replicas {1 + i % 5}
  labels app=web-{i} tier={tier}
  container main {{
    command python -m http.server $PORT
    port http {8000 + i % 1000}
    requests cpu={100 + i % 900}m memory={64 + i % 64}Mi
  }}
}}

service web-{i} {{
  selector app=web-{i}
  port 80 -> http
}}
""")
    return "\n".join(parts)


def cluster_yaml(n: int) -> str:
    docs = []
    for i in range(n):
        tier = ("frontend", "backend", "cache")[i % 3]
        docs.append(f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-{i}
  namespace: default
  labels:
    app: web-{i}
    tier: {tier}
spec:
  replicas: {1 + i % 5}
  selector:
    matchLabels:
      app: web-{i}
      tier: {tier}
  template:
    metadata:
      labels:
        app: web-{i}
        tier: {tier}
    spec:
      containers:
      - name: main
        command: [python, -m, http.server, $PORT]
        ports:
        - name: http
          containerPort: {8000 + i % 1000}
        resources:
          requests:
            cpu: {100 + i % 900}m
            memory: {64 + i % 64}Mi
""")
        docs.append(f"""apiVersion: v1
kind: Service
metadata:
  name: web-{i}
  namespace: default
spec:
  selector:
    app: web-{i}
  ports:
  - port: 80
    targetPort: http
""")
    return "---\n".join(docs)


def timed(label: str, fn, repeat: int) -> list[float]:
    runs = []
    for k in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
        print(f"  {label:<18} run {k + 1}/{repeat}: {runs[-1]:.3f} s", flush=True)
    return runs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000, help="deployments (and as many services)")
    p.add_argument("--repeat", type=int, default=5, help="runs of each, the median is reported")
    p.add_argument("--quick", action="store_true", help="N=1,000 and 3 runs")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.repeat = 1_000, 3

    text, ytext = cluster_text(args.n), cluster_yaml(args.n)
    # The two texts describe the same objects (checked once, outside the timing).
    ours = dsl.parse(text)
    theirs = dsl.load_yaml(ytext)
    assert len(ours) == len(theirs) == 2 * args.n
    assert [o.to_dict() for o in ours] == [o.to_dict() for o in theirs], "DSL and YAML differ"
    print(f"{2 * args.n:,} objects; language {len(text):,} bytes, YAML {len(ytext):,} bytes; "
          f"{args.repeat} runs each")

    t_dsl = timed("dsl.parse", lambda: dsl.parse(text), args.repeat)
    t_c = timed("CSafeLoader", lambda: list(yaml.load_all(ytext, Loader=yaml.CSafeLoader)), args.repeat)
    t_py = timed("SafeLoader", lambda: list(yaml.load_all(ytext, Loader=yaml.SafeLoader)), args.repeat)

    m_dsl, m_c, m_py = (statistics.median(t) for t in (t_dsl, t_c, t_py))
    print()
    print(f"median dsl.parse          {m_dsl:8.3f} s  ({2 * args.n / m_dsl:,.0f} objects/s)")
    print(f"median yaml CSafeLoader   {m_c:8.3f} s")
    print(f"median yaml SafeLoader    {m_py:8.3f} s")
    r1, r2 = m_dsl / m_c, m_py / m_dsl
    print(f"dsl.parse / CSafeLoader = {r1:.2f}   (goal <= 1.0: {'PASS' if r1 <= 1.0 else 'MISS'})")
    print(f"SafeLoader / dsl.parse  = {r2:.1f}x  (goal >= 5x: {'PASS' if r2 >= 5 else 'MISS'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
