"""The front ends, clients of a cluster: the ``reconcile`` command (:mod:`~reconcile.frontends.cli`),
the notebook (:mod:`~reconcile.frontends.notebook`: the Jupyter kernel, the ``%%cluster`` magics,
the dashboard), and the client-side diff both show before applying (:mod:`~reconcile.frontends.plan`).

They speak the language (:mod:`dsl`) and reach a cluster through its ``Cluster`` interface
(:mod:`reconcile.controlplane`): the simulator, or Ray through :mod:`cluster_ray`. Nothing in the
core imports them.
"""

__all__: list[str] = []     # programs, reached by their modules (the console script: cli.main)
