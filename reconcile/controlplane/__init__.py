"""One control plane, several runtimes: the layer between the controllers and the runtimes.

:class:`ControlPlane` owns the store, the engine, the built-in rules, the user's rules and the
event log, with a clock given to it. The simulator (:class:`reconcile.sim.SimCluster`: simulated
kubelets, a virtual clock) and the Ray runtime (:class:`cluster_ray.RayCluster`: Ray kubelets,
the wall clock) are each a ``ControlPlane``; the front ends talk to either through the
:class:`Cluster` protocol and ask it for capabilities (``can_fail_nodes``, ``has_logs``,
``virtual_clock``) rather than which runtime it is.

>>> from reconcile.sim import SimCluster
>>> isinstance(SimCluster(), ControlPlane), isinstance(SimCluster(), Cluster)
(True, True)
"""

from reconcile.controlplane.cluster import Cluster, ClusterError, ClusterEvent, Listeners
from reconcile.controlplane.plane import ControlPlane

__all__ = ["ControlPlane", "Cluster", "ClusterEvent", "ClusterError", "Listeners"]
