"""The Ray runtime: node (kubelet) actors, pod actors, the service proxy.

This is the only package that imports ``ray``. It arrives with the Ray
runtime work; the core (:mod:`reconcile`) and the language (:mod:`dsl`)
run and are tested without it.
"""

__all__: list[str] = []
