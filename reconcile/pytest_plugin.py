"""A pytest plugin shipped with the package: the ``sim_cluster`` fixture.

Installed with reconcile (entry point ``pytest11``), so any project's tests
can ask for it::

    def test_my_rule(sim_cluster):
        sim_cluster.apply(dsl.parse(open("cluster.cluster").read()))
        sim_cluster.run_until_stable()
        assert len(sim_cluster.list("Pod", "app=web")) == 3

The cluster is fresh for each test, seeded (``--sim-seed``, default 0), with
short node periods (grace 20 s, eviction 30 s) so failures heal quickly.
"""

from __future__ import annotations

import pytest

from reconcile.sim import SimCluster


def pytest_addoption(parser):
    parser.addoption("--sim-seed", type=int, default=0, help="seed of the sim_cluster fixture (default 0)")


@pytest.fixture
def sim_cluster(request) -> SimCluster:
    """A fresh simulated cluster with the built-in controllers and no nodes."""
    return SimCluster(seed=request.config.getoption("--sim-seed"), node_grace=20.0, eviction_timeout=30.0)
