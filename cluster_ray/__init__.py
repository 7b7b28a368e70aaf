"""The Ray runtime: Ray actors are the nodes, pods are their processes, a kube-proxy per machine.

This is the only package that imports ``ray``; the core (:mod:`reconcile`) and the language
(:mod:`dsl`) run and are tested without it. :class:`RayCluster` (:mod:`cluster_ray.runtime`) is a
control plane whose kubelets are Ray actors; :func:`up` and :func:`down` (:mod:`cluster_ray.up`)
are ``reconcile up`` and ``reconcile down``. Code that runs inside the pods' processes lives here
too: :mod:`cluster_ray.call` (``python -m cluster_ray.call module:function``) and the containers'
probes.

The names are loaded when first used, so a pod's ``python -m cluster_ray.call`` does not import Ray.
"""

__all__ = ["RayCluster", "up", "down"]

_WHERE = {"RayCluster": "cluster_ray.runtime", "up": "cluster_ray.up", "down": "cluster_ray.up"}


def __getattr__(name: str):
    if name in _WHERE:
        import importlib
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'cluster_ray' has no attribute {name!r}")
