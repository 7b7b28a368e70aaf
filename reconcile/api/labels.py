"""Kubernetes label selectors: parsing, matching, validation.

A port of k8s.io/apimachinery ``pkg/labels/selector.go`` (lexer, parser,
Requirement, Selector), of ``LabelSelectorAsSelector`` (``pkg/apis/meta/v1/
helpers.go``) and of the label checks of ``pkg/util/validation``; behaviour
and error messages follow them case for case.

>>> s = parse("app=web, tier in (b,a), !legacy")
>>> s, s.matches({"app": "web", "tier": "a"}), s.matches({"app": "web", "tier": "c"})
(Selector('app=web,!legacy,tier in (a,b)'), True, False)
>>> parse("app=web and tier notin (db)", allow_and=True) == parse("app=web,tier notin (db)")
True
>>> parse("x in (a,b")
Traceback (most recent call last):
  ...
reconcile.api.labels.SelectorSyntaxError: found '', expected: ',' or ')' (at position 9 in 'x in (a,b')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import Any, Callable, Iterable, Mapping, Sequence

from reconcile.api.validation import (  # re-exported: part of this module's API
    validate_dns1123_label, validate_dns1123_subdomain, validate_label_key, validate_label_value,
)

__all__ = [
    "SelectorSyntaxError", "Requirement", "Selector", "EVERYTHING", "NOTHING",
    "parse", "from_set", "from_label_selector", "to_label_selector",
    "validate_label_key", "validate_label_value", "validate_dns1123_label", "validate_dns1123_subdomain",
]

Labels = Mapping[str, str]


class SelectorSyntaxError(ValueError):
    """A selector Kubernetes would reject: ``message`` says what is wrong,
    ``position`` (0-based) where in ``text`` (0 when there is no text)."""

    def __init__(self, message: str, position: int = 0, text: str = "") -> None:
        super().__init__(message, position, text)
        self.message, self.position, self.text = message, position, text

    def __str__(self) -> str:
        return f"{self.message} (at position {self.position} in {self.text!r})" if self.text else self.message


# --------------------------------------------------------------- requirements

_INT_RE = re.compile(r"[+-]?[0-9]+")
_OPERATORS = ("in", "notin", "=", "==", "!=", "gt", "lt", "exists", "!")
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v", '"': '\\"', "\\": "\\\\"}


def _int64(s: Any) -> int | None:  # Go's strconv.ParseInt(s, 10, 64), None on error
    if not isinstance(s, str) or not _INT_RE.fullmatch(s):
        return None
    i = int(s)
    return i if -(1 << 63) <= i < (1 << 63) else None


def _q(s: str) -> str:
    """Go's ``%q`` of a string."""
    def esc(ch: str) -> str:
        o = ord(ch)
        if ch in _GO_ESCAPES or ch.isprintable():
            return _GO_ESCAPES.get(ch, ch)
        return f"\\x{o:02x}" if o < 0x80 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"
    return '"' + "".join(map(esc, s)) + '"'


def _requirement_errors(key: str, op: str, values: Sequence[str],
                        check_key: bool = True) -> list[tuple[str, int | None]]:
    """NewRequirement's checks: (message, index of the offending value or None)."""
    errs: list[tuple[str, int | None]] = []
    if check_key and (ke := validate_label_key(key)):
        errs.append((f"key: Invalid value: {_q(key)}: {'; '.join(ke)}", None))

    def bad(detail: str) -> tuple[str, None]:
        return "values: Invalid value: []string{" + ", ".join(map(_q, values)) + "}: " + detail, None
    if op in ("in", "notin") and not values:
        errs.append(bad("for 'in', 'notin' operators, values set can't be empty"))
    elif op in ("=", "==", "!=") and len(values) != 1:
        errs.append(bad("exact-match compatibility requires one single value"))
    elif op in ("exists", "!") and values:
        errs.append(bad("values set must be empty for exists and does not exist"))
    elif op in ("gt", "lt"):
        if len(values) != 1:
            errs.append(bad("for 'Gt', 'Lt' operators, exactly one value is required"))
        errs += [(f"values[{i}]: Invalid value: {_q(v)}: for 'Gt', 'Lt' operators, "
                  "the value must be an integer", i) for i, v in enumerate(values) if _int64(v) is None]
    elif op not in _OPERATORS:
        supported = ", ".join(map(_q, _OPERATORS))
        errs.append((f"operator: Unsupported value: {_q(op)}: supported values: {supported}", None))
    errs += [(f"values[{i}][{key}]: Invalid value: {_q(v)}: {'; '.join(ve)}", i)
             for i, v in enumerate(values) if (ve := validate_label_value(v))]
    return errs


def _aggregate(msgs: Iterable[str]) -> str:  # Go's utilerrors.Aggregate text
    unique = list(dict.fromkeys(msgs))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def _predicate(key: str, op: str, values: tuple[str, ...]) -> Callable[[Labels], bool]:
    one = values[0] if len(values) == 1 else None
    if op in ("=", "==") or (op == "in" and one is not None):
        return lambda labels: labels.get(key) == one
    if op == "!=" or (op == "notin" and one is not None):  # a missing key matches
        return lambda labels: labels.get(key) != one
    if op in ("in", "notin"):
        vs, want = frozenset(values), op == "in"
        return lambda labels: (labels.get(key) in vs) is want  # None (missing) is in no set
    if op in ("exists", "!"):
        want = op == "exists"
        return lambda labels: (key in labels) is want
    n, greater = int(values[0]), op == "gt"  # gt, lt: an integer label value compared
    return lambda labels: (i := _int64(labels.get(key))) is not None and (i > n if greater else i < n)


@dataclass(frozen=True, slots=True)
class Requirement:
    """One condition on one label key, checked like Kubernetes' NewRequirement;
    ``values`` is kept sorted and de-duplicated.

    >>> r = Requirement("tier", "notin", ["b", "a", "b"])
    >>> r.values, str(r), r.matches({}), r.matches({"tier": "a"})
    (('a', 'b'), 'tier notin (a,b)', True, False)
    >>> Requirement("x", "in", [])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    reconcile.api.labels.SelectorSyntaxError: values: Invalid value: []string{}: for 'in', 'notin' operators, ...
    """

    key: str
    operator: str
    values: tuple[str, ...] = ()
    _pred: Callable[[Labels], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        vals = self.values
        if isinstance(vals, str) or not isinstance(self.key, str) or not isinstance(self.operator, str):
            raise TypeError("Requirement(key: str, operator: str, values: iterable of str)")
        vals = tuple(vals)
        if not all(isinstance(v, str) for v in vals):
            raise TypeError(f"label values must be strings: {vals!r}")
        if errs := _requirement_errors(self.key, self.operator, vals):
            raise SelectorSyntaxError(_aggregate(m for m, _ in errs))
        self._set(self.key, self.operator, tuple(sorted(set(vals))))

    def _set(self, key: str, op: str, values: tuple[str, ...]) -> Requirement:
        pred = _predicate(key, op, values)
        for name, v in ("key", key), ("operator", op), ("values", values), ("_pred", pred):
            object.__setattr__(self, name, v)
        return self

    def __reduce__(self) -> tuple:
        return (Requirement, (self.key, self.operator, self.values))

    def matches(self, labels: Labels) -> bool:
        """Kubernetes ``Requirement.Matches``."""
        return self._pred(labels)

    def __str__(self) -> str:
        op, key, joined = self.operator, self.key, ",".join(self.values)
        if op in ("exists", "!"):
            return key if op == "exists" else "!" + key
        if op in ("in", "notin"):
            return f"{key} {op} ({joined})"
        return key + {"gt": ">", "lt": "<"}.get(op, op) + joined


def _unchecked(key: str, op: str, values: tuple[str, ...]) -> Requirement:
    return object.__new__(Requirement)._set(key, op, values)


# ------------------------------------------------------------------ selectors

def _compile(reqs: tuple[Requirement, ...]) -> Callable[[Labels], bool]:
    # One "lambda labels: ... and ..." testing every requirement inline. Its source holds
    # only names made here (k0, v0, p0...): keys and values come in through the namespace.
    if len(reqs) <= 1:
        return reqs[0]._pred if reqs else lambda labels: True
    ns: dict[str, Any] = {}
    terms = []
    for i, r in enumerate(reqs):
        op, n = r.operator, len(r.values)
        ns[f"k{i}"], ns[f"v{i}"], ns[f"p{i}"] = r.key, (r.values[0] if n == 1 else frozenset(r.values)), r._pred
        if op in ("=", "==", "in", "!=", "notin") and n == 1:
            terms.append(f"labels.get(k{i}) {'!=' if op in ('!=', 'notin') else '=='} v{i}")
        elif op in ("in", "notin"):
            terms.append(f"labels.get(k{i}) {'not in' if op == 'notin' else 'in'} v{i}")
        elif op in ("exists", "!"):
            terms.append(f"k{i} {'not in' if op == '!' else 'in'} labels")
        else:
            terms.append(f"p{i}(labels)")
    return eval(_code("lambda labels: " + " and ".join(terms)), ns)  # noqa: S307 (no outside text)


@lru_cache(maxsize=512)
def _code(source: str) -> Any:  # the source depends only on the selector's shape
    return compile(source, "<selector>", "eval")


class Selector:
    """An immutable AND of requirements, sorted (stably) by key like Kubernetes.

    ``Selector(requirements)`` or ``Selector("text")``. ``matches(labels)`` is a
    function compiled at construction; the empty selector matches everything.

    >>> s = Selector([Requirement("b", "exists"), Requirement("a", "=", ["1"])])
    >>> s, s.matches({"a": "1", "b": ""}), EVERYTHING.is_empty(), NOTHING.matches({})
    (Selector('a=1,b'), True, True, False)
    """

    __slots__ = ("requirements", "matches", "_nothing")
    requirements: tuple[Requirement, ...]
    matches: Callable[[Labels], bool]

    def __init__(self, requirements: Iterable[Requirement] | str = ()) -> None:
        if isinstance(requirements, str):
            reqs = parse(requirements).requirements
        else:
            reqs = tuple(requirements)
            if bad := [r for r in reqs if not isinstance(r, Requirement)]:
                raise TypeError(f"not a Requirement: {bad[0]!r}")
            reqs = tuple(sorted(reqs, key=attrgetter("key")))
        for name, v in (("requirements", reqs), ("_nothing", False), ("matches", _compile(reqs))):
            object.__setattr__(self, name, v)

    def __setattr__(self, *args: Any) -> None:
        raise AttributeError("Selector is immutable")

    __delattr__ = __setattr__

    def is_empty(self) -> bool:
        """True when the selector restricts nothing (Kubernetes ``Empty``)."""
        return not self._nothing and not self.requirements

    def add(self, *requirements: Requirement) -> Selector:
        """A new selector with more requirements (Kubernetes ``Add``)."""
        return self if self._nothing else Selector(self.requirements + requirements)

    def requires_exact_match(self, key: str) -> str | None:
        """The one value required for ``key``, else None (``RequiresExactMatch``)."""
        r = next((r for r in self.requirements if r.key == key), None)
        return r.values[0] if r and r.operator in ("=", "==", "in") and len(r.values) == 1 else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Selector):
            return NotImplemented
        return self._nothing == other._nothing and self.requirements == other.requirements

    def __hash__(self) -> int:
        return hash((self._nothing, self.requirements))

    def __str__(self) -> str:
        return ",".join(map(str, self.requirements))

    def __repr__(self) -> str:
        return "NOTHING" if self._nothing else f"Selector({str(self)!r})"

    def __reduce__(self) -> tuple:
        return (_nothing, ()) if self._nothing else (Selector, (self.requirements,))


def _nothing() -> Selector:
    return NOTHING


EVERYTHING = Selector(())
NOTHING = object.__new__(Selector)  # Kubernetes labels.Nothing(): matches no labels
for _name, _value in (("requirements", ()), ("_nothing", True), ("matches", lambda labels: False)):
    object.__setattr__(NOTHING, _name, _value)


# -------------------------------------------------------------------- parsing

_TOKEN_RE = re.compile(r"[ \t\r\n]*(?:(!=|==|[=!(),<>])|([^ \t\r\n=!(),<>]+))")
_SYMBOLS = {")": "ClosedPar", ",": "Comma", "!": "DoesNotExist", "==": "DoubleEquals",
            "=": "Equals", ">": "GreaterThan", "<": "LessThan", "!=": "NotEquals", "(": "OpenPar"}
_BINARY = {"In": "in", "NotIn": "notin", "Equals": "=", "DoubleEquals": "==",
           "NotEquals": "!=", "GreaterThan": "gt", "LessThan": "lt"}
_ID, _EOS, _COMMA, _NOT, _CPAR = "Identifier", "EndOfString", "Comma", "DoesNotExist", "ClosedPar"


def _lex(text: str) -> list[tuple[str, str, int]]:
    """Kubernetes' lexer: (token, literal, position) items, EndOfString last."""
    tokens, pos = [], 0
    while m := _TOKEN_RE.match(text, pos):
        sym, word = m.groups()
        kind = _SYMBOLS[sym] if sym else {"in": "In", "notin": "NotIn"}.get(word, _ID)
        tokens.append((kind, sym or word, m.start(1 if sym else 2)))
        pos = m.end()
    return tokens + [(_EOS, "", len(text))]


class _Parser:
    """Kubernetes' recursive descent parser (selector.go), with positions."""

    def __init__(self, text: str, allow_and: bool) -> None:
        self.text, self.allow_and, self.tokens, self.i = text, allow_and, _lex(text), 0

    def fail(self, message: str, position: int) -> SelectorSyntaxError:
        return SelectorSyntaxError(message, position, self.text)

    def look(self, values: bool = True) -> tuple[str, str, int]:
        tok, lit, pos = self.tokens[min(self.i, len(self.tokens) - 1)]
        return (_ID if values and tok in ("In", "NotIn") else tok), lit, pos

    def next(self, values: bool = True) -> tuple[str, str, int]:
        item = self.look(values)
        self.i += 1
        return item

    def is_and(self, tok: str, lit: str) -> bool:
        return self.allow_and and tok == _ID and lit == "and"

    def parse(self) -> list[Requirement]:
        reqs = []
        while (item := self.look())[0] != _EOS:
            tok, lit, pos = item
            if tok not in (_ID, _NOT):
                raise self.fail(f"found '{lit}', expected: !, identifier, or 'end of string'", pos)
            reqs.append(self.requirement())
            tok, lit, pos = self.next()
            if tok == _EOS:
                break
            if tok != _COMMA and not self.is_and(tok, lit):
                sep = "',' or 'and'" if self.allow_and else "','"
                raise self.fail(f"found '{lit}', expected: {sep} or 'end of string'", pos)
            if (after := self.look())[0] not in (_ID, _NOT):
                raise self.fail(f"found '{after[1]}', expected: identifier after '{lit}'", after[2])
        return reqs

    def requirement(self) -> Requirement:
        tok, key, pos = self.next()
        negated = tok == _NOT
        if negated:
            tok, key, pos = self.next()
        if tok != _ID:
            raise self.fail(f"found '{key}', expected: identifier", pos)
        if errs := validate_label_key(key):
            raise self.fail(f"Invalid value: {_q(key)}: {'; '.join(errs)}", pos)
        tok, lit, pos = self.look()
        if negated or tok in (_EOS, _COMMA) or self.is_and(tok, lit):  # "!x=a" fails in parse()
            return _unchecked(key, "!" if negated else "exists", ())
        tok, lit, pos = self.next(values=False)
        if (op := _BINARY.get(tok)) is None:
            raise self.fail(f"found '{lit}', expected: in, notin, =, ==, !=, gt, lt", pos)
        found = self.value_set() if op in ("in", "notin") else self.exact_value()
        values = tuple(sorted(found))
        if errs := _requirement_errors(key, op, values, check_key=False):
            index = next((i for _, i in errs if i is not None), 0)
            raise self.fail(_aggregate(m for m, _ in errs), found[values[index]])
        return _unchecked(key, op, values)

    def value_set(self) -> dict[str, int]:
        """``( values )``: each value mapped to its position; "()" is {""}."""
        tok, lit, pos = self.next()
        if tok != "OpenPar":
            raise self.fail(f"found '{lit}' expected: '('", pos)
        tok, lit, pos = self.look()
        if tok == _CPAR:
            self.next()
            return {"": pos}
        if tok not in (_ID, _COMMA):
            raise self.fail(f"found '{lit}', expected: ',', ')' or identifier", pos)
        found: dict[str, int] = {}
        while True:
            tok, lit, pos = self.next()
            if tok == _ID:
                found.setdefault(lit, pos)
            elif tok != _COMMA:
                raise self.fail(f"found '{lit}', expected: ',', or identifier", pos)
            elif not found:  # "(,"
                found[""] = pos
            tok2, lit2, pos2 = self.look()
            if tok == _COMMA and tok2 in (_COMMA, _CPAR):  # ",," and ",)"
                found.setdefault("", pos2)
            if tok2 == _CPAR:
                self.next()
                return found
            if tok == _ID and tok2 != _COMMA:
                raise self.fail(f"found '{lit2}', expected: ',' or ')'", pos2)

    def exact_value(self) -> dict[str, int]:
        tok, lit, pos = self.look()
        if tok in (_EOS, _COMMA):
            return {"": pos}
        tok, lit, pos = self.next()
        if tok != _ID:
            raise self.fail(f"found '{lit}', expected: identifier", pos)
        return {lit: pos}


def parse(text: str, *, allow_and: bool = False) -> Selector:
    """Kubernetes ``labels.Parse``; the empty string gives EVERYTHING.

    With ``allow_and``, the word ``and`` stands for ``,`` where Kubernetes
    expects ``,`` or the end; anywhere else it is an ordinary identifier.

    >>> parse("x notin (,a), y>3, !z"), parse("and and !and", allow_and=True)
    (Selector('x notin (,a),y>3,!z'), Selector('and,!and'))
    """
    if not isinstance(text, str):
        raise TypeError(f"selector text must be a str, not {type(text).__name__}")
    reqs = _Parser(text, allow_and).parse()
    return Selector(reqs) if reqs else EVERYTHING


def from_set(labels: Labels | None) -> Selector:
    """A selector requiring exactly these labels (``ValidatedSelectorFromSet``).

    >>> from_set({"tier": "db", "app": "web"})
    Selector('app=web,tier=db')
    """
    return Selector([Requirement(k, "=", (v,)) for k, v in labels.items()]) if labels else EVERYTHING


_EXPR_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
_ABSENT: Any = object()


def from_label_selector(match_labels: Labels | None,
                        match_expressions: Sequence[Mapping[str, Any]] | None = _ABSENT) -> Selector:
    """Kubernetes ``LabelSelectorAsSelector`` of ``matchLabels`` and ``matchExpressions``.

    ``from_label_selector(None)``, no selector, gives NOTHING; a selector with
    no parts, ``from_label_selector(None, None)`` or ``({})``, gives EVERYTHING.

    >>> from_label_selector({"app": "web"}, [{"key": "tier", "operator": "In", "values": ["b", "a"]}])
    Selector('app=web,tier in (a,b)')
    >>> from_label_selector(None), from_label_selector(None, None)
    (NOTHING, Selector(''))
    """
    if match_labels is None and match_expressions is _ABSENT:
        return NOTHING
    exprs = () if match_expressions is None or match_expressions is _ABSENT else match_expressions
    if not match_labels and not exprs:
        return EVERYTHING
    reqs = [Requirement(k, "=", (v,)) for k, v in (match_labels or {}).items()]
    for expr in exprs:
        if (op := _EXPR_OPS.get(expr.get("operator"))) is None:  # type: ignore[arg-type]
            raise SelectorSyntaxError(
                f"{_q(str(expr.get('operator', '')))} is not a valid pod selector operator")
        reqs.append(Requirement(expr.get("key", ""), op, expr.get("values") or ()))
    return Selector(reqs)


_EXPR_NAMES = {"exists": "Exists", "!": "DoesNotExist", "in": "In", "notin": "NotIn",
               "!=": "NotIn", "=": "In", "==": "In"}


def to_label_selector(selector: Selector) -> dict[str, Any] | None:
    """The ``{matchLabels, matchExpressions}`` form, empty parts left out.

    ``!=`` becomes NotIn; ``gt``/``lt`` have no such form (ValueError); NOTHING
    gives None, the inverse of ``from_label_selector(None)``.

    >>> to_label_selector(parse("app=web,tier!=db,!old"))  # doctest: +NORMALIZE_WHITESPACE
    {'matchLabels': {'app': 'web'}, 'matchExpressions': [{'key': 'old', 'operator': 'DoesNotExist'},
     {'key': 'tier', 'operator': 'NotIn', 'values': ['db']}]}
    """
    if selector._nothing:
        return None
    labels: dict[str, str] = {}
    exprs: list[dict[str, Any]] = []
    for r in selector.requirements:
        if r.operator in ("gt", "lt"):
            raise ValueError(f"{str(r)!r}: the {r.operator!r} operator has no LabelSelector form")
        if r.operator in ("=", "==") and r.key not in labels:
            labels[r.key] = r.values[0]
        else:  # a second "=" on one key becomes In
            exprs.append({"key": r.key, "operator": _EXPR_NAMES[r.operator]}
                         | ({"values": list(r.values)} if r.values else {}))
    return ({"matchLabels": labels} if labels else {}) | ({"matchExpressions": exprs} if exprs else {})
