"""IPython magics for an ordinary Python kernel: ``%load_ext reconcile``, then ``%%cluster`` cells
and ``%cluster`` lines of the language, with the same outputs as the ``reconcile`` kernel.

The cluster (the simulator until a ``connect``) is ``cluster`` in the user namespace, and the
:class:`~reconcile.frontends.notebook.session.Session` behind it ``session``.
"""

from __future__ import annotations

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from reconcile.frontends.notebook.cells import CellRunner

__all__ = ["ClusterMagics", "load_ipython_extension", "unload_ipython_extension"]


@magics_class
class ClusterMagics(Magics):
    def __init__(self, shell):
        super().__init__(shell)
        self.runner = CellRunner(shell)

    @line_magic
    def cluster(self, line: str):
        """``%cluster get pods``: one command (or a one-line definition) of the cluster language."""
        return self.runner.run(line)

    @cell_magic("cluster")
    def cluster_cell(self, line: str, cell: str):
        """``%%cluster``: a cell of the cluster language (definitions are applied, commands run)."""
        if line.strip():                    # ``%%cluster get pods``: the line is the cell's first
            return self.runner.run(f"{line}\n{cell}")
        return self.runner.run(cell, first_line=2)      # (the cell's lines count from the magic's)


_loaded: dict = {}


def load_ipython_extension(ipython) -> None:
    magics = ClusterMagics(ipython)
    _loaded[id(ipython)] = magics
    ipython.register_magics(magics)


def unload_ipython_extension(ipython) -> None:
    magics = _loaded.pop(id(ipython), None)
    if magics is not None:
        magics.runner.session.close()
