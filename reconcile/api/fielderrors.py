"""Field errors as Kubernetes words them (``k8s.io/apimachinery/pkg/util/validation/field``).

A :class:`FieldError` names a field by its path, what is wrong with it and
the value found; its text is upstream's ``field.Error.Error()``, and a list
of them reads as upstream's ``ErrorList.ToAggregate()`` (duplicates dropped,
several in brackets).

>>> errs = [invalid("spec.replicas", -1, "must be greater than or equal to 0"),
...         required("spec.selector"),
...         not_supported("spec.strategy.type", "Rolling", ("Recreate", "RollingUpdate"))]
>>> print(errs[0]); print(errs[2])
spec.replicas: Invalid value: -1: must be greater than or equal to 0
spec.strategy.type: Unsupported value: "Rolling": supported values: "Recreate", "RollingUpdate"
>>> aggregate(errs[:2])
'[spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.selector: Required value]'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["FieldError", "Bare", "invalid", "required", "not_supported", "duplicate", "forbidden", "too_long",
           "aggregate", "go_value", "go_quote"]

REQUIRED, INVALID, NOT_SUPPORTED, DUPLICATE, FORBIDDEN, TOO_LONG = (
    "Required value", "Invalid value", "Unsupported value", "Duplicate value", "Forbidden", "Too long")
_NO_VALUE = (REQUIRED, FORBIDDEN, TOO_LONG)      # upstream prints no value for these
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v", '"': '\\"', "\\": "\\\\"}


class Bare(str):
    """A value that upstream prints as it is, unquoted (a ``fmt.Stringer``: an int-or-percent, a quantity)."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One thing wrong with one field: ``type`` is upstream's words (``Invalid value``, ...)."""

    type: str
    field: str
    value: Any = None
    detail: str = ""

    def body(self) -> str:
        """The message without the field (upstream's ``ErrorBody``)."""
        s = self.type if self.type in _NO_VALUE else f"{self.type}: {go_value(self.value)}"
        return f"{s}: {self.detail}" if self.detail else s

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(INVALID, field, value, detail)


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(REQUIRED, field, "", detail)


def not_supported(field: str, value: Any, supported: Iterable[str]) -> FieldError:
    return FieldError(NOT_SUPPORTED, field, value, "supported values: " + ", ".join(map(go_quote, supported)))


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(DUPLICATE, field, value)


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, field, "", detail)


def too_long(field: str, limit: int) -> FieldError:
    return FieldError(TOO_LONG, field, "", f"must have at most {limit} bytes")


def aggregate(errors: Iterable[FieldError]) -> str:
    """Upstream's ``ErrorList.ToAggregate().Error()``: one message, or several in brackets."""
    unique = list(dict.fromkeys(map(str, errors)))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def go_quote(s: str) -> str:
    """Go's ``%q`` of a string.

    >>> print(go_quote('a"b\\n'))
    "a\\"b\\n"
    """
    def esc(ch: str) -> str:
        if ch in _GO_ESCAPES or ch.isprintable():
            return _GO_ESCAPES.get(ch, ch)
        o = ord(ch)
        return f"\\x{o:02x}" if o < 0x80 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"
    return '"' + "".join(map(esc, s)) + '"'


def go_value(value: Any) -> str:
    """A bad value as upstream prints it: strings quoted, numbers bare, ``null``, maps as Go writes them.

    >>> go_value("12x"), go_value(3), go_value(None), go_value({"b": "2", "a": "1"}), go_value(["x"])
    ('"12x"', '3', 'null', 'map[string]string{"a":"1", "b":"2"}', '[]string{"x"}')
    """
    if value is None:
        return "null"
    if isinstance(value, Bare):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Mapping):
        if all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            items = ", ".join(f"{go_quote(k)}:{go_quote(v)}" for k, v in sorted(value.items()))
            return "map[string]string{" + items + "}"
        items = ", ".join(f"{go_quote(str(k))}:{go_value(v)}" for k, v in sorted(value.items(), key=str))
        return "map[string]interface {}{" + items + "}"
    if isinstance(value, Sequence):
        if all(isinstance(v, str) for v in value):
            return "[]string{" + ", ".join(map(go_quote, value)) + "}"
        return "[]interface {}{" + ", ".join(go_value(v) for v in value) + "}"
    return go_quote(str(value))
