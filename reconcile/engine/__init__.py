"""The rules engine: pure rules run to a fixpoint over the store, and the actions they return.

A rule decides (``reconcile(snapshot, key, now) -> Result``, see
:mod:`~reconcile.engine.engine`); its effects are data (:mod:`~reconcile.engine.actions`:
``Create``, ``Update``, ``UpdateStatus``, ``Delete``, ``Bind``, ``Emit``), carried out in one place
by the :class:`Engine`, which runs every due rule until nothing fires.

>>> from reconcile.api import Namespace
>>> from reconcile.state import Store
>>> def label_it(snapshot, key, now):
...     kind, namespace, name = key
...     ns = snapshot.get(kind, name, namespace)
...     if ns.metadata.labels.get("seen") == "yes":
...         return Result()                           # converged: no actions
...     return Result((Update(ns.set(metadata=ns.metadata.set(labels=ns.metadata.labels.set("seen", "yes")))),))
>>> store = Store(clock=lambda: 0.0)
>>> engine = Engine(store, [Rule("label-it", label_it, primary="Namespace")])
>>> _ = store.create(Namespace.new("shop"))
>>> engine.run().firings, dict(store.get("Namespace", "shop", None).metadata.labels)
(1, {'seen': 'yes'})
"""

from reconcile.engine.actions import Action, Bind, Create, Delete, Emit, Result, Update, UpdateStatus, apply_action
from reconcile.engine.engine import Engine, Oscillation, Rule, RuleError, RunReport, owner_keys, quiet_collector

__all__ = ["Rule", "Engine", "Oscillation", "RuleError", "RunReport", "owner_keys", "quiet_collector",
           "Action", "Create", "Update", "UpdateStatus", "Delete", "Bind", "Emit", "Result", "apply_action"]
