"""The ``reconcile`` Jupyter kernel: cells are the cluster language.

It is IPython's kernel (:class:`ipykernel.ipkernel.IPythonKernel`) with the
language in front: a cell of the language is turned into a call of the
kernel's :class:`~reconcile.frontends.notebook.cells.CellRunner` (see
:func:`~reconcile.frontends.notebook.cells.to_python`), so ``display()``, comms and
ipywidgets, history and execution counts all work as in any IPython
kernel. ``%%python`` cells and ``%python`` lines run Python in the same
namespace, where ``cluster`` is the connected cluster and ``session`` the
:class:`~reconcile.frontends.notebook.session.Session` the cells use.

Start it with ``python -m reconcile.frontends.notebook.kernel -f CONNECTION_FILE``;
``reconcile kernel install`` writes its kernelspec.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile

from ipykernel.ipkernel import IPythonKernel

from reconcile import __version__
from reconcile.frontends.notebook import cells

__all__ = ["ReconcileKernel", "install", "KERNEL_NAME"]

KERNEL_NAME = "reconcile"


class ReconcileKernel(IPythonKernel):
    implementation = "reconcile"
    implementation_version = __version__
    banner = (f"reconcile {__version__}: cells are the cluster language (definitions are applied; "
              "get, describe, scale, rollout, logs, events, connect, dashboard ...); "
              "%%python cells and %python lines are Python, with `cluster` and `session`.")
    language_info = {
        "name": "reconcile",
        "version": __version__,
        "mimetype": "text/x-reconcile",
        "file_extension": ".cluster",
        "pygments_lexer": "text",
        "codemirror_mode": "properties",
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.runner = cells.CellRunner(self.shell)
        self.shell.user_ns[cells.NAME] = self.runner
        self.shell.user_ns_hidden[cells.NAME] = self.runner
        self.shell.input_transformers_cleanup.insert(0, _transform)

    @property
    def cluster_session(self):
        """The :class:`~reconcile.frontends.notebook.session.Session` of the cells (``self.session`` is
        the kernel's message session)."""
        return self.runner.session

    def do_is_complete(self, code):
        if cells.is_python(code):             # (the input transformer takes the %%python line off)
            return super().do_is_complete(code)
        status, indent = cells.is_complete(code)
        reply = {"status": status}
        if status == "incomplete":
            reply["indent"] = indent
        return reply

    def do_complete(self, code, cursor_pos):
        if cursor_pos is None:
            cursor_pos = len(code)
        if cells.is_python(code) or _on_python_line(code, cursor_pos):
            return super().do_complete(code, cursor_pos)
        matches, start, end = cells.complete(self.cluster_session, code, cursor_pos)
        return {"status": "ok", "matches": matches, "cursor_start": start, "cursor_end": end, "metadata": {}}

    def do_inspect(self, code, cursor_pos, detail_level=0, omit_sections=()):
        if cells.is_python(code) or _on_python_line(code, cursor_pos):
            return super().do_inspect(code, cursor_pos, detail_level, omit_sections)
        text = cells.inspect(self.cluster_session, code, cursor_pos)
        if text is None:
            return {"status": "ok", "found": False, "data": {}, "metadata": {}}
        import html
        return {"status": "ok", "found": True, "metadata": {},
                "data": {"text/plain": text, "text/html": f"<pre>{html.escape(text)}</pre>"}}

    def do_shutdown(self, restart):
        try:
            self.cluster_session.close()
        finally:
            return super().do_shutdown(restart)


def _transform(lines: list[str]) -> list[str]:
    """IPython input transformer: a language cell becomes the Python that runs it."""
    code = "".join(lines)
    return [ln + "\n" for ln in cells.to_python(code).split("\n")] if code.strip() else lines


def _on_python_line(code: str, cursor: int) -> bool:
    line = code[:cursor].rsplit("\n", 1)[-1]
    return line.lstrip().startswith(("%python ", "%py "))


def install(user: bool = False, prefix: str | None = None, sys_prefix: bool = False) -> str:
    """Install the kernelspec (``jupyter kernelspec install`` of ours); returns where it went."""
    from jupyter_client.kernelspec import KernelSpecManager
    if sys_prefix:
        prefix = sys.prefix
    spec = {"argv": [sys.executable, "-m", "reconcile.frontends.notebook.kernel", "-f", "{connection_file}"],
            "display_name": "reconcile", "language": "reconcile",
            "metadata": {"debugger": False}}
    tmp = tempfile.mkdtemp(prefix="reconcile-kernelspec-")
    try:
        with open(os.path.join(tmp, "kernel.json"), "w") as f:
            json.dump(spec, f, indent=1)
        return KernelSpecManager().install_kernel_spec(tmp, KERNEL_NAME, user=user, prefix=prefix)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    from ipykernel.kernelapp import IPKernelApp
    IPKernelApp.launch_instance(kernel_class=ReconcileKernel)
