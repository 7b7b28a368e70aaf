"""The least memory a pod can take in a store built as DESIGN.md asks, before any controller runs.

The control-plane benchmark's goal (c) is under 2 KB of resident memory per
pod at 150,000 pods. This script builds, in a fresh process, the smallest
layout that still is that store, with every choice made in favour of
memory, and prints what it costs per pod:

- each pod a pyrsistent record (``PClass``, slotted) with a metadata record
  holding only its name, namespace, uid (a UUID string, as Kubernetes'),
  resourceVersion (an int, not a string), creationTimestamp (a float), and
  labels and ownerReferences shared by every pod of its owner;
- ``spec`` a two-slot record (its node's name, and the template's spec
  shared), ``status`` a two-slot record (the phase, shared, and its IP);
- the objects table a pyrsistent map keyed by (namespace, name);
- the indexes DESIGN.md names (by label, by owner, by node) as pyrsistent
  maps of sets; one label per pod (real pods carry two: app and
  pod-template-hash).

Nothing here is ever replaced, so there is no garbage from older versions,
no watch history, events, caches or work queues: the real store carries all
of those. Each part is measured as the growth of the process's resident set.

    python bench/memory_floor.py              # 150,000 pods
"""

from __future__ import annotations

import argparse
import gc
import uuid

from pyrsistent import PClass, field, pmap, pset

from control_plane import _rss      # bench/ is on the path when this script runs


class Meta(PClass):
    name = field()
    namespace = field()
    uid = field()
    resourceVersion = field()
    creationTimestamp = field()
    labels = field()
    ownerReferences = field()


class Spec(PClass):
    nodeName = field()
    template = field()


class Status(PClass):
    phase = field()
    podIP = field()


class Pod(PClass):
    metadata = field()
    spec = field()
    status = field()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pods", type=int, default=150_000)
    p.add_argument("--per-owner", type=int, default=100)
    p.add_argument("--nodes", type=int, default=5000)
    args = p.parse_args(argv)
    n = args.pods
    owners = n // args.per_owner + 1
    template = pmap({"containers": (pmap({"name": "c", "command": ("serve",)}),)})
    labels = [pmap({"app": f"app-{d}"}) for d in range(owners)]
    refs = [(pmap({"kind": "ReplicaSet", "name": f"app-{d}-7d9f8c6b5", "uid": str(uuid.UUID(int=d))}),)
            for d in range(owners)]
    node_names = [f"node-{i}" for i in range(args.nodes)]
    gc.collect()
    gc.disable()
    parts = {}
    kept = []
    before = _rss()
    pods = []
    for i in range(n):
        d = i // args.per_owner
        meta = Meta(name=f"app-{d}-7d9f8c6b5-{i:05x}", namespace="default", uid=str(uuid.UUID(int=(1 << 64) + i)),
                    resourceVersion=i, creationTimestamp=float(i), labels=labels[d], ownerReferences=refs[d])
        pods.append(Pod(metadata=meta, spec=Spec(nodeName=node_names[i % args.nodes], template=template),
                        status=Status(phase="Running", podIP=f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}")))
    parts["records"] = _rss() - before
    mark = _rss()
    table = pmap().evolver()
    for pod in pods:
        table[(pod.metadata.namespace, pod.metadata.name)] = pod
    table = table.persistent()
    parts["objects table"] = _rss() - mark
    for index, value_of in (("label index", lambda i, pod: "app=" + pod.metadata.labels["app"]),
                            ("owner index", lambda i, pod: pod.metadata.ownerReferences[0]["uid"]),
                            ("node index", lambda i, pod: pod.spec.nodeName)):
        mark = _rss()
        sets: dict = {}
        for i, pod in enumerate(pods):
            value = value_of(i, pod)
            s = sets.get(value)
            if s is None:
                s = sets[value] = pset().evolver()
            s.add((pod.metadata.namespace, pod.metadata.name))
        built = pmap({k: s.persistent() for k, s in sets.items()})
        del sets
        kept.append(built)
        parts[index] = _rss() - mark
    total = sum(parts.values())
    print(f"{n:,} pods, the smallest layout of the store DESIGN.md describes (bytes per pod):")
    for name, size in parts.items():
        print(f"  {name:<14} {size / n:7,.0f}")
    print(f"  {'total':<14} {total / n:7,.0f}   (goal (c) of bench/control_plane.py: under 2,048, "
          f"with everything else the running cluster keeps)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
