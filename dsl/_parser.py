"""Text -> statements -> model objects, with errors in words.

The grammar is ``grammar.lark``; Lark builds its LALR tables once per
process and :mod:`dsl._lalr` runs them. A syntax error says what was
expected in words; unknown fields are skipped to the end of their line (or
their block) so that every error of the file is reported together.
"""

from __future__ import annotations

import bisect
import difflib
import gc
import functools
from importlib import resources

from lark import Lark
from pyrsistent import pmap

from reconcile.api import model as _model
from reconcile.api import validate_objects as _validate

from dsl._build import build
from dsl._build_pod import FIELDS, WORKLOAD_KINDS
from dsl._errors import DslError, DslErrors, DslSyntaxError, Locator
from dsl._lalr import END, Driver, ParseFailure
from dsl._transform import CALLBACKS

__all__ = ["parse", "driver"]


@functools.lru_cache(maxsize=1)
def driver() -> Driver:
    grammar = resources.files("dsl").joinpath("grammar.lark").read_text()
    lark = Lark(grammar, parser="lalr", maybe_placeholders=False)
    return Driver(lark, CALLBACKS)


_WORDS = {
    "WORD": "a name or value", "KEY": "key=value", "STRING": 'a quoted string like "text"',
    "PATH": "a path like /healthz", "ITEM": "a list item", "CALLABLE": "module:function",
    "CMDLINE": "a command line", "COUNT": "a count like x3", END: "the end of the file",
    "<char>": "a character",
}
_HINTS = {
    "replicas": "a number of replicas, like 'replicas 3'",
    "labels": "labels like app=web", "annotations": "annotations like team=shop",
    "pod-annotations": "annotations like team=shop", "node-selector": "labels like disk=ssd",
    "requests": "resources like cpu=250m memory=64Mi", "limits": "resources like cpu=1 memory=1Gi",
    "capacity": "resources like cpu=4 memory=8Gi pods=110", "env": "variables like NAME=value",
    "selector": "a label selector like app=web", "where": "a label selector like app=web",
    "strategy": "a strategy like 'rolling max-surge=25% max-unavailable=0' or 'recreate'",
    "command": "a command line, like 'command python -m http.server $PORT'",
    "args": "arguments, like 'args --port 8080'", "call": "a Python callable like shop.web:main",
    "port": "a port like 'port http 8080' (or 'port 80 -> http' in a service)",
    "image": "a Ray runtime_env like pip=[flask==3.1] env=[NAME=value], or a quoted image",
    "schedule": 'a cron schedule in quotes, like "*/5 * * * *"',
    "taint": "a taint like dedicated=gpu:NoSchedule", "tolerate": "a toleration like dedicated=gpu:NoSchedule",
    "every": "a duration like 10s", "after": "a duration like 5s", "timeout": "a duration like 1s",
    "min-ready": "a duration like 10s", "progress-deadline": "a duration like 10m",
    "termination-grace": "a duration like 30s", "for": "a duration like 2m",
    "readiness": "a probe like 'http /healthz', 'tcp 8080' or 'exec [cat, /tmp/ready]'",
    "liveness": "a probe like 'http /healthz', 'tcp 8080' or 'exec [cat, /tmp/ready]'",
    "startup": "a probe like 'http /healthz', 'tcp 8080' or 'exec [cat, /tmp/ready]'",
    "=": "a value after '='", "->": "a target port (a name or a number)",
}
# a keyword that only some blocks have tells which block the parser is in
_CONTEXTS = (("REPLICAS", "a workload"), ("COMMAND", "a container"), ("CAPACITY", "nodes"),
             ("TYPE", "a service"), ("MIN", "autoscale"), ("NAMESPACE", "the file"))


def _describe(driver: Driver, name: str) -> str:
    if name in _WORDS:
        return _WORDS[name]
    text = driver.literals.get(name, name)
    return f"'{text}'"


def _found(tok) -> str:
    value, _, typ = tok
    if typ == END:
        return "the end of the file"
    if typ == "<char>":
        return f"the character {value!r}"
    return f"{value!r}" if len(value) <= 40 else f"{value[:37]!r}..."


_VALUE_HINTS = {
    "requests": "a quantity like 250m or 2Gi", "limits": "a quantity like 250m or 2Gi",
    "capacity": "a quantity like 4 or 8Gi", "labels": "a label value like web",
    "node-selector": "a label value like ssd", "env": "a value (quote it if it has spaces)",
    "annotations": "a value (quote it if it has spaces)", "strategy": "a number or a percentage like 25%",
    "image": "a list like [flask==3.1] or a value",
}


def syntax_message(d: Driver, f: ParseFailure, locator: Locator | None = None) -> str:
    tok = f.token
    expected = d.acceptable(f.stack)
    keywords = sorted(d.literals[n] for n in expected if n in d.keywords)
    context = next((where for key, where in _CONTEXTS if key in expected), None)
    if tok[0] == "and" and "COMMA" in expected:
        return "expected ',' between requirements, found 'and' ('and' joins requirements only after 'where')"
    if keywords and context and (tok[2] in ("WORD", "KEY") or tok[2] in d.keywords):
        word = tok[0].split("=")[0]
        if context == "a workload" and f.braces and locator is not None:
            # name the workload's kind and list only its own fields
            line, _ = locator.position(f.braces[-1])
            head = locator.line_text(line)[: locator.position(f.braces[-1])[1] - 1].split()
            kind = WORKLOAD_KINDS.get(head[0]) if head else None
            if kind:
                context = f"a {head[0]}"
                keywords = [k for k in keywords if k in FIELDS[kind]]
        close = difflib.get_close_matches(word, keywords, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        what = "statement" if context == "the file" else "field"
        return (f"unknown {what} {word!r} in {context}{hint}; expected one of: "
                f"{', '.join(keywords)}" + (", or '}'" if "RBRACE" in expected else ""))
    if tok[2] == END and "RBRACE" in expected and f.braces and locator is not None:
        return "this '{' is never closed: the file ends inside its block (a '}' is missing)"
    prev = f.history[-1][0] if f.history else None
    if prev == "=":
        last_kw = next((t[0] for t in reversed(f.history) if t[2] in d.keywords), None)
        hint = _VALUE_HINTS.get(last_kw, "a value")
        return f"expected {hint} after '=', found {_found(tok)}"
    if prev in _HINTS:
        return f"expected {_HINTS[prev]} after '{prev}', found {_found(tok)}"
    words = sorted({_describe(d, n) for n in expected})
    if len(words) > 8:
        words = words[:8] + ["..."]
    return f"expected {' or '.join(words) if len(words) <= 2 else 'one of: ' + ', '.join(words)}, " \
           f"found {_found(tok)}"


class _Recovery:
    """Skips the rest of a bad field (its line, or its whole block) and notes the error."""

    def __init__(self, d: Driver, locator: Locator):
        self.d = d
        self.locator = locator
        self.errors: list[DslError] = []
        self.line = -1
        self.depth = 0

    def __call__(self, failure: ParseFailure, stack) -> bool:
        tok = failure.token
        line, _ = self.locator.position(tok[1])
        if self.depth == 0 and line != self.line:
            expected = self.d.acceptable(failure.stack)
            at_field = "RBRACE" in expected or END in expected
            self.errors.append(self.locator.error(syntax_message(self.d, failure, self.locator), tok[1], DslSyntaxError))
            if not at_field or len(self.errors) > 50:
                return False
            self.line = line
        if tok[2] == "LBRACE":
            self.depth += 1
        elif tok[2] == "RBRACE" and self.depth:
            self.depth -= 1
            self.line = line  # go on skipping the rest of the line of the closing brace
        return True

    def skipping(self, tok) -> bool:
        """Also drop tokens the parser would accept while the bad field is being skipped."""
        if not self.errors:
            return False
        line, _ = self.locator.position(tok[1])
        if self.depth == 0 and (line != self.line or tok[2] == "RBRACE"):
            self.line = -1    # a '}' at the same depth closes the enclosing block: stop skipping
            return False
        if tok[2] == "LBRACE":
            self.depth += 1
        elif tok[2] == "RBRACE" and self.depth:
            self.depth -= 1
            self.line = line
        return True


def parse(text: str, path: str | None = None) -> tuple:
    """Parse and check a whole text; returns a tuple of model objects or raises DslError."""
    if not isinstance(text, str):
        raise TypeError(f"dsl.parse expects text (str), got {type(text).__name__}")
    # Parsing builds many small acyclic objects; the cycle collector would
    # rescan the growing heap again and again (quadratic time on big files).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse(text, path)
    finally:
        if enabled:
            gc.enable()


def _parse(text: str, path: str | None) -> tuple:
    d = driver()
    locator = Locator(text, path)
    recovery = _Recovery(d, locator)
    try:
        starts: list = []
        statements = d.parse(text, on_error=recovery, skip=recovery.skipping, starts=starts)
    except ParseFailure as f:
        where = f.token[1]
        if f.token[2] == END and f.braces:
            where = f.braces[-1]
        if not recovery.errors or (recovery.errors[-1].line, recovery.errors[-1].column) \
                != locator.position(f.token[1]):
            recovery.errors.append(locator.error(syntax_message(d, f, locator), where, DslSyntaxError))
        raise DslErrors(recovery.errors) if len(recovery.errors) > 1 else recovery.errors[0] from None
    objects, errors = build(statements, locator)
    if recovery.errors:
        # a statement with a syntax error was only partly read: its other errors may be false
        broken = {_statement_of(starts, locator, e) for e in recovery.errors}
        errors = [e for e in errors if not getattr(e, "about_missing", False)
                  or _statement_of(starts, locator, e) not in broken]
    errors = recovery.errors + errors
    if errors:
        raise (DslErrors(errors) if len(errors) > 1 else errors[0]) from None
    built = tuple(_model_object(kind, data) for kind, data, _ in objects)
    invalid = _validated(built, [pos for _, _, pos in objects], locator)
    if invalid:
        raise (DslErrors(invalid) if len(invalid) > 1 else invalid[0]) from None
    return built


def _validated(objects: tuple, positions: list, locator: Locator) -> list[DslError]:
    """The API server's validation of each whole object (what the checks above do not see, such as
    ``replicas 1000000000``), reported at the object's name."""
    errors = []
    for obj, pos in zip(objects, positions):
        problems = _validate.validate_object(obj)
        if problems:
            errors.append(locator.error(str(_validate.InvalidObject(obj, problems)), pos))
    return errors


def _statement_of(starts: list, locator: Locator, error: DslError) -> int:
    starts_lines = [locator.position(p) for p in starts]
    return bisect.bisect_right(starts_lines, (error.line, error.column)) - 1


def _model_object(kind: str, data: dict):
    """Checked plain data -> a model object (the fast path: no second validation)."""
    meta = data["metadata"]
    labels = meta.get("labels")
    annotations = meta.get("annotations")
    m = _model.ObjectMeta._make(
        name=meta["name"], namespace=meta.get("namespace"),
        labels=pmap(labels) if labels else _model.EMPTY_MAP,
        annotations=pmap(annotations) if annotations else _model.EMPTY_MAP)
    return _model.KINDS[kind]._from_plain(m, data.get("spec") or {}, data.get("status") or {})
