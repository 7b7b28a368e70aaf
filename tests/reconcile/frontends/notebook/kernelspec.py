"""The reconcile kernelspec installed into a temporary prefix that Jupyter searches (JUPYTER_PATH)."""

import contextlib
import os
import shutil
import tempfile

from reconcile.frontends.notebook.kernel import install


@contextlib.contextmanager
def installed_kernel():
    """The kernelspec where Jupyter finds it, and an IPython directory of the test's own (so the
    kernels' history starts empty and the user's is left alone)."""
    prefix = tempfile.mkdtemp(prefix="reconcile-jupyter-")
    install(prefix=prefix)
    path = os.path.join(prefix, "share", "jupyter")
    old = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "IPYTHONDIR")}
    os.environ["JUPYTER_PATH"] = path + (os.pathsep + old["JUPYTER_PATH"] if old["JUPYTER_PATH"] else "")
    os.environ["IPYTHONDIR"] = os.path.join(prefix, "ipython")
    try:
        yield path
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(prefix, ignore_errors=True)
