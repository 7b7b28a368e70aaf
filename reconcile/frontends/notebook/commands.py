"""A cell of the notebook front ends: definitions of the language, commands, and Python lines.

:func:`split_cell` cuts a cell into steps, in order: blocks of definitions
(``deployment web { ... }``, parsed by :func:`dsl.parse`), commands (a line
at the top level, outside any block, starting with a command word), and
``%python`` lines. :func:`parse_command` reads one command line. Errors are
:class:`dsl.DslError`\\ s, so they carry the cell's line and column and render
with a caret.

>>> [s.kind for s in split_cell("deployment web {\\n  replicas 2\\n}\\nget pods where app=web\\n%python x = 1")]
['definitions', 'command', 'python']
>>> parse_command("get pods where app=web, tier in (a, b)", 1).args["selector"]
'app=web, tier in (a, b)'
>>> parse_command("scale web 3", 1).args
{'kind': None, 'name': 'web', 'replicas': 3, 'namespace': None}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dsl import DslError
from reconcile.api.errors import ReconcileError

__all__ = ["Step", "Command", "CommandError", "SessionError", "COMMANDS", "split_cell", "parse_command", "brace_depth"]


class CommandError(DslError):
    """A command line that cannot be read (or carried out: at the command's line and column)."""


class SessionError(ReconcileError):
    """A command that cannot be carried out (an unknown object, a command the cluster cannot do).
    ``at`` names the argument it is about (``"kind"``, ``"name"``), for the error's column."""

    def __init__(self, message: str, at: str = "name"):
        super().__init__(message)
        self.at = at


# command -> what it takes (shown in errors and in the docs)
COMMANDS = {
    "plan": "plan",
    "apply": "apply FILE",
    "get": "get KIND [NAME] [-n NAMESPACE] [where SELECTOR]",
    "describe": "describe KIND NAME [-n NAMESPACE]",
    "scale": "scale [KIND] NAME REPLICAS [-n NAMESPACE]",
    "rollout": "rollout status|restart|undo [KIND] NAME [--to-revision N] [-n NAMESPACE]",
    "logs": "logs POD [-c CONTAINER] [--tail N] [-n NAMESPACE]",
    "delete": "delete KIND NAME [-n NAMESPACE]",
    "events": "events [N]",
    "connect": "connect sim | local | ray://ADDRESS | ADDRESS",
    "dashboard": "dashboard",
    "cordon": "cordon NODE",
    "uncordon": "uncordon NODE",
    "drain": "drain NODE",
    "fail": "fail NODE",
    "recover": "recover NODE",
    "advance": "advance DURATION",
}


@dataclass
class Step:
    kind: str            # "definitions", "command" or "python"
    text: str
    line: int            # the cell line where it starts (1-based)


@dataclass
class Command:
    name: str
    args: dict = field(default_factory=dict)
    line: int = 1
    text: str = ""


def brace_depth(text: str) -> int:
    """How many blocks are open at the end of ``text`` (strings and comments skipped).

    >>> brace_depth('deployment web {\\n  container c { command echo "}" # }')
    2
    """
    depth, quote = 0, None
    for line in text.splitlines():
        i = 0
        while i < len(line):
            ch = line[i]
            if quote:
                if ch == "\\":
                    i += 1
                elif ch == quote:
                    quote = None
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            i += 1
        quote = None                   # strings end with their line
    return depth


def split_cell(text: str) -> list[Step]:
    """The steps of a cell, in order (blank lines and comments between them dropped)."""
    steps: list[Step] = []
    depth = 0
    chunk: list[str] = []
    start = 0
    for n, line in enumerate(text.splitlines(), 1):
        word = line.split(maxsplit=1)[0] if line.strip() else ""
        if depth <= 0 and word in ("%python", "%py") and line[:1] == "%":
            _flush(steps, chunk, start)
            chunk = []
            steps.append(Step("python", line.strip()[len(word):].strip(), n))
            continue
        if depth <= 0 and word in COMMANDS and line[:1] not in " \t":
            _flush(steps, chunk, start)
            chunk = []
            steps.append(Step("command", line, n))
            continue
        if not chunk:
            start = n
        chunk.append(line)
        depth += brace_depth(line)
    _flush(steps, chunk, start)
    return steps


def _flush(steps: list[Step], chunk: list[str], start: int) -> None:
    body = "\n".join(chunk)
    if any(ln.strip() and not ln.strip().startswith("#") for ln in chunk):
        steps.append(Step("definitions", body, start))


_TOKEN = re.compile(r"\S+")


def parse_command(line: str, line_no: int, path: str | None = None) -> Command:
    """One command line as a :class:`Command` (``args`` by name), or a :class:`CommandError`."""
    tokens = [(m.group(), m.start() + 1) for m in _TOKEN.finditer(line)]
    name = tokens[0][0]

    def error(message: str, column: int | None = None) -> CommandError:
        col = column if column is not None else (tokens[-1][1] + len(tokens[-1][0]) if tokens else 1)
        return CommandError(f"{message} (usage: {COMMANDS[name]})", line_no, col, path, line)

    rest, selector = tokens[1:], None
    for i, (tok, col) in enumerate(rest):
        if tok == "where" and name == "get":
            selector = line[col + len("where"):].strip()
            if not selector:
                raise error("'where' needs a selector such as app=web")
            _check_selector(selector, line, line_no, path)
            rest = rest[:i]
            break
    options, words = {}, []
    flags = {"-n": "namespace", "--namespace": "namespace", "-c": "container", "--container": "container",
             "--tail": "tail", "--to-revision": "revision"}
    i = 0
    while i < len(rest):
        tok, col = rest[i]
        key = tok.split("=", 1)[0]
        if key in flags:
            if "=" in tok:
                value, vcol = tok.split("=", 1)[1], col + len(key) + 1
            elif i + 1 < len(rest):
                value, vcol = rest[i + 1]
                i += 1
            else:
                raise error(f"{key} needs a value", col)
            if flags[key] in ("tail", "revision"):
                if not value.lstrip("-").isdigit():
                    raise error(f"{key} takes a whole number, got {value!r}", vcol)
                value = int(value)
            options[flags[key]] = value
        elif tok.startswith("-") and not tok.lstrip("-").isdigit():
            raise error(f"unknown option {tok}", col)
        else:
            words.append((tok, col))
        i += 1
    args = _ARGS[name](words, error, options, selector)
    return Command(name, args, line_no, line)


def _check_selector(selector: str, line: str, line_no: int, path: str | None) -> None:
    """Read the selector now, so a cell with a bad one runs nothing (its column counts from the line)."""
    from dsl import SelectorError, parse_selector
    try:
        parse_selector("where " + selector)          # (Kubernetes' syntax, with ``and`` too)
    except SelectorError as e:
        start = line.rfind(selector)
        raise CommandError(e.message, line_no, start + e.column - len("where "), path, line) from None


def _none(words, error, options, selector):
    if words:
        raise error(f"unexpected {words[0][0]!r}", words[0][1])
    return {}


def _one(what):
    def read(words, error, options, selector):
        if not words:
            raise error(f"missing {what}")
        if len(words) > 1:
            raise error(f"unexpected {words[1][0]!r}", words[1][1])
        return {what: words[0][0]}
    return read


def _get(words, error, options, selector):
    if not words:
        raise error("missing the kind to get, such as pods or deployments")
    if len(words) > 2:
        raise error(f"unexpected {words[2][0]!r}", words[2][1])
    return {"kind": words[0][0], "name": words[1][0] if len(words) > 1 else None,
            "namespace": options.get("namespace"), "selector": selector}


def _kind_name(words, error, options, selector):
    if len(words) < 2:
        raise error("missing the kind and the name" if not words else "missing the name")
    if len(words) > 2:
        raise error(f"unexpected {words[2][0]!r}", words[2][1])
    return {"kind": words[0][0], "name": words[1][0], "namespace": options.get("namespace")}


def _scale(words, error, options, selector):
    if len(words) not in (2, 3):
        raise error("expected a name and a number of replicas" if len(words) < 2 else
                    f"unexpected {words[3][0]!r}", words[3][1] if len(words) > 3 else None)
    count, col = words[-1]
    if not count.isdigit():
        raise error(f"the number of replicas must be a whole number, got {count!r}", col)
    return {"kind": words[0][0] if len(words) == 3 else None, "name": words[-2][0], "replicas": int(count),
            "namespace": options.get("namespace")}


def _rollout(words, error, options, selector):
    if not words or words[0][0] not in ("status", "restart", "undo", "history"):
        raise error("expected status, restart, undo or history", words[0][1] if words else None)
    if len(words) not in (2, 3):
        raise error("missing the name" if len(words) < 2 else f"unexpected {words[3][0]!r}",
                    words[3][1] if len(words) > 3 else None)
    return {"action": words[0][0], "kind": words[1][0] if len(words) == 3 else None, "name": words[-1][0],
            "revision": options.get("revision"), "namespace": options.get("namespace")}


def _logs(words, error, options, selector):
    read = _one("pod")(words, error, options, selector)
    return {**read, "container": options.get("container"), "tail": options.get("tail"),
            "namespace": options.get("namespace")}


def _events(words, error, options, selector):
    if len(words) > 1:
        raise error(f"unexpected {words[1][0]!r}", words[1][1])
    if words and not words[0][0].isdigit():
        raise error(f"expected how many events, got {words[0][0]!r}", words[0][1])
    return {"limit": int(words[0][0]) if words else 20}


def _apply(words, error, options, selector):
    return {"path": _one("path")(words, error, options, selector)["path"]}


_ARGS = {
    "plan": _none, "dashboard": _none, "apply": _apply, "get": _get, "describe": _kind_name,
    "delete": _kind_name, "scale": _scale, "rollout": _rollout, "logs": _logs, "events": _events,
    "connect": _one("target"), "cordon": _one("node"), "uncordon": _one("node"), "drain": _one("node"),
    "fail": _one("node"), "recover": _one("node"), "advance": _one("duration"),
}
