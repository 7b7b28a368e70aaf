"""Run a Python callable as a container's process: ``python -m cluster_ray.call module:function [ARGS]``.

This is what the language's ``call module:function`` means in Kubernetes
terms: the container's command is this module with the callable's name.
The callable gets the remaining arguments as strings; its return value is
the exit status (``None`` means 0).
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["resolve", "main"]


def resolve(target: str):
    """The callable named by ``module:function`` (attributes may be dotted).

    >>> resolve("os.path:join")("a", "b")
    'a/b'
    """
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"expected module:function, got {target!r}")
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{target} is not callable")
    return obj


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m cluster_ray.call module:function [ARGS...]", file=sys.stderr)
        return 2
    try:
        fn = resolve(argv[0])
    except (ImportError, AttributeError, ValueError, TypeError) as e:
        print(f"cluster_ray.call: cannot run {argv[0]}: {e}", file=sys.stderr)
        return 2
    result = fn(*argv[1:])
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
