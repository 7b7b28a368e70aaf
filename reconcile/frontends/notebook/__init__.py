"""The notebook front ends: a :class:`~reconcile.frontends.notebook.session.Session` (a cluster and the
language's commands), the ``reconcile`` Jupyter kernel (:mod:`~reconcile.frontends.notebook.kernel`),
the ``%%cluster`` magics (:mod:`~reconcile.frontends.notebook.magics`, loaded by ``%load_ext
reconcile``) and the dashboard widget (:mod:`~reconcile.frontends.notebook.widgets`)."""

__all__ = ["Session"]


def __getattr__(name: str):
    if name == "Session":               # (loaded when used: the kernel's start does not wait for it)
        from reconcile.frontends.notebook.session import Session
        return Session
    raise AttributeError(f"module 'reconcile.frontends.notebook' has no attribute {name!r}")
