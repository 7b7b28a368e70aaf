"""Running the language inside IPython: the part the kernel and the magics share.

:func:`to_python` turns a cell of the language into the Python IPython runs:
each run of language lines becomes a call to the :class:`CellRunner` kept in
the user namespace as ``__reconcile__``, each ``%python`` line stays itself,
so execution counts, history, ``display()`` and errors all go through
IPython as for any cell. A cell starting with ``%%python`` is Python; one
starting with another cell magic (``%%time``, ``%%html``) is left to IPython.

>>> print(to_python("get pods\\n%python n = len(cluster.list('Pod'))\\nscale web 2"))
__reconcile__.run('get pods', 1, last=False)
n = len(cluster.list('Pod'))
__reconcile__.run('scale web 2', 3, last=True)
"""

from __future__ import annotations

import functools
import re

import dsl

from reconcile.frontends.notebook.commands import COMMANDS, brace_depth, split_cell
from reconcile.frontends.notebook.display import Text
from reconcile.frontends.notebook.session import Session

__all__ = ["CellRunner", "to_python", "is_python", "complete", "inspect", "is_complete", "keywords"]

NAME = "__reconcile__"


@functools.lru_cache(maxsize=1)
def keywords() -> list[str]:
    """What completion offers at the start of a statement: the language's words and the commands."""
    return sorted(dsl.keywords() | set(COMMANDS))


KINDS = ["pods", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs", "services",
         "endpoints", "nodes", "namespaces", "hpa", "rules", "policies", "po", "deploy", "rs", "sts", "ds",
         "svc", "no", "ns"]


def is_python(cell: str) -> bool:
    """A cell IPython runs as it is: ``%%python`` or another cell magic first."""
    first = next((ln for ln in cell.splitlines() if ln.strip()), "")
    return first.lstrip().startswith("%%")


def to_python(cell: str) -> str:
    """The Python that runs a cell of the language (see the module's docstring)."""
    lines = cell.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is not None and lines[first].strip().split()[0] == "%%python":
        return "\n".join(lines[first + 1:])
    if first is None or lines[first].lstrip().startswith("%%"):
        return cell
    out: list[str] = []
    group: list[int] = []          # line numbers (1-based) of the language run being collected

    def flush(last: bool) -> None:
        if any(lines[n - 1].strip() for n in group):
            out.append(f"{NAME}.run({_pad(lines, group)!r}, {group[0]}, last={last})")
        group.clear()

    python_lines = {s.line: s.text for s in split_cell(cell) if s.kind == "python"}
    for n in range(1, len(lines) + 1):
        if n in python_lines:
            flush(last=False)
            out.append(python_lines[n])
        else:
            group.append(n)
    flush(last=True)
    return "\n".join(out)


def _pad(lines: list[str], group: list[int]) -> str:
    """The group's lines, keeping their places relative to the group's first line."""
    start = group[0]
    picked = [""] * (group[-1] - start + 1)
    for n in group:
        picked[n - start] = lines[n - 1]
    return "\n".join(picked)


class CellRunner:
    """Runs language cells for a shell: results shown (the last one returned, as Out[n]),
    progress of waits updated in place, ``cluster`` kept in the user namespace."""

    def __init__(self, shell, session: Session | None = None):
        self.shell = shell
        self.session = session or Session()
        self.session.on_change(lambda s: self._publish())      # (a connect from Python, too)
        self._publish()

    def _publish(self) -> None:
        ns = self.shell.user_ns
        ns["cluster"] = self.session.cluster
        ns["session"] = self.session

    def path(self) -> str:
        return f"cell[{self.shell.execution_count}]"

    def run(self, text: str, first_line: int = 1, last: bool = True):
        """Run language lines; each result is shown as soon as it is made, except that the last of
        the cell is returned (to be Out[n]). A wait's progress is one output updated in place."""
        from IPython.display import display
        handle = None
        held = []                                 # the newest result, not shown yet

        def flush() -> None:
            while held:
                display(held.pop(0))

        def on_result(result) -> None:
            flush()
            held.append(result)

        def progress(message: str) -> None:
            nonlocal handle
            flush()                               # (what came before the wait is shown first)
            if handle is None:
                handle = display(Text(message), display_id=True)
            else:
                handle.update(Text(message))

        try:
            self.session.run_all(text, self.path(), progress, first_line, on_result=on_result)
        except BaseException:
            flush()                               # what was done before the error is shown above it
            raise
        finally:
            self._publish()                       # (a connect changes the cluster)
        if not last:
            flush()
            return None
        return held.pop() if held else None


# -- kernel services: completion, inspection, completeness

_WORD = re.compile(r"[\w./:=-]*$")


def complete(session: Session, code: str, cursor: int) -> tuple[list[str], int, int]:
    """(matches, start, end) for the word before ``cursor`` in a language cell."""
    before = code[:cursor]
    line = before.splitlines()[-1] if before and not before.endswith("\n") else ""
    token = _WORD.search(line).group()
    words = line[: len(line) - len(token)].split()
    start = cursor - len(token)
    key, eq, value = token.partition("=")
    selector_context = any(w in ("where", "selector", "labels", "node-selector") for w in words)
    if eq and (selector_context or (words and words[0] == "get")):
        values = sorted(session.labels().get(key, ()))
        return [f"{key}={v}" for v in values if v.startswith(value)], start, cursor
    if selector_context:
        candidates = sorted(session.labels())
    elif not words:
        candidates = keywords()
    else:
        candidates = _after(session, words)
    return [c for c in candidates if c.startswith(token)], start, cursor


def _after(session: Session, words: list[str]) -> list[str]:
    cmd, n = words[0], len(words)
    if cmd in ("get", "describe", "delete") and n == 1:
        return KINDS
    if cmd in ("get", "describe", "delete") and n == 2:
        try:
            return session.names(words[1])
        except Exception:
            return []
    if cmd == "rollout" and n == 1:
        return ["status", "restart", "undo", "history"]
    if cmd in ("scale", "rollout") and n <= 2:
        return sorted({*session.names("Deployment"), *session.names("StatefulSet"), *session.names("DaemonSet")})
    if cmd == "logs" and n == 1:
        return session.names("Pod")
    if cmd in ("cordon", "uncordon", "drain", "fail", "recover") and n == 1:
        return session.names("Node")
    if cmd == "connect" and n == 1:
        return ["sim", "local", "ray://"]
    return keywords()


def inspect(session: Session, code: str, cursor: int) -> str | None:
    """What Shift-Tab shows for the word at ``cursor``: an object's state as YAML, or a
    command's usage; None for anything else."""
    left = re.search(r"[\w.-]*$", code[:cursor]).group()
    right = re.match(r"[\w.-]*", code[cursor:]).group()
    word = left + right
    if not word:
        return None
    found = session.object_yaml(word)
    if found is not None:
        return found
    if word in COMMANDS:
        return f"usage: {COMMANDS[word]}"
    if word in dsl.keywords():
        return f"{word}: a word of the cluster language (docs/language.md)"
    return None


def is_complete(code: str) -> tuple[str, str]:
    """(status, indent) for the console: a block left open is incomplete."""
    depth = brace_depth(code)
    if depth > 0:
        return "incomplete", "  " * depth
    if depth < 0:
        return "invalid", ""
    return "complete", ""
