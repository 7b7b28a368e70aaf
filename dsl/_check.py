"""Checks of single values (names, label selectors, numbers, quantities, durations), collecting errors.

A :class:`Checker` gathers every error of a text with its position, so a
file's semantic errors are all reported together. Each ``check_*`` method
returns the converted value, or ``None`` after recording an error.
"""

from __future__ import annotations

from fractions import Fraction

from reconcile.api import labels as _labels
from reconcile.api import quantity as _quantity

from dsl._errors import DslError, Locator

__all__ = ["Checker"]

_QUANTITY_CACHE: dict[str, str] = {}
_SELECTOR_OPS = {"=": "=", "==": "==", "!=": "!=", "in": "in", "notin": "notin", ">": "gt", "<": "lt",
                 "exists": "exists", "!": "!"}


class Checker:
    def __init__(self, locator: Locator):
        self.locator = locator
        self.errors: list[DslError] = []

    def error(self, message: str, pos: int) -> None:
        self.errors.append(self.locator.error(message, pos))

    def missing(self, message: str, pos: int) -> None:
        """An error about something absent (or not matching something absent): after a
        syntax error was skipped, such errors in the same statement may be false."""
        e = self.locator.error(message, pos)
        e.about_missing = True
        self.errors.append(e)

    # -- names
    def name(self, tok, what: str, dns: str = "subdomain"):
        text = tok[0]
        if dns == "label":
            problems = _labels.validate_dns1123_label(text)
        elif dns == "1035":
            problems = _dns1035(text)
        else:
            problems = _labels.validate_dns1123_subdomain(text)
        if problems:
            self.error(f"invalid {what} name {text!r}: {problems[0]}", tok[1])
            return None
        return text

    def label_map(self, pairs, what: str) -> dict:
        out: dict = {}
        for key, value in pairs:
            k, v = key[0], value[0]
            problems = _labels.validate_label_key(k)
            if problems:
                self.error(f"invalid {what} key {k!r}: {problems[0]}", key[1])
            if what == "label":
                vp = _labels.validate_label_value(v)
                if vp:
                    self.error(f"invalid label value {v!r} for {k!r}: {vp[0]}", value[1])
            if k in out:
                self.error(f"{what} {k!r} is set twice", key[1])
            out[k] = v
        return out

    def selector(self, reqs) -> _labels.Selector | None:
        """A selector from parsed requirements ``(key, op, values)``, recording any invalid one."""
        out = []
        ok = True
        for key, op, values in reqs:
            try:
                out.append(_labels.Requirement(key[0], _SELECTOR_OPS[op], tuple(v[0] for v in values)))
            except ValueError as e:
                self.error(f"invalid selector: {e}", key[1])
                ok = False
        return _labels.Selector(out) if ok else None

    # -- numbers
    def integer(self, tok, what: str, minimum: int | None = 0, maximum: int | None = None):
        text = tok[0]
        try:
            n = int(text, 10)
        except ValueError:
            self.error(f"{what} must be a whole number, got {text!r}", tok[1])
            return None
        if minimum is not None and n < minimum:
            self.error(f"{what} must be {minimum} or more, got {n}", tok[1])
            return None
        if maximum is not None and n > maximum:
            self.error(f"{what} must be {maximum} or less, got {n}", tok[1])
            return None
        return n

    def port_number(self, tok, what: str = "port"):
        return self.integer(tok, what, 1, 65535)

    def quantity(self, tok, what: str):
        text = tok[0]
        canonical = _QUANTITY_CACHE.get(text)
        if canonical is None:
            try:
                canonical = _quantity.parse_quantity(text).canonical()
            except ValueError:
                self.error(f"{what}: expected a quantity like 250m or 2Gi, got {text!r}", tok[1])
                return None
            if len(_QUANTITY_CACHE) < 10000:
                _QUANTITY_CACHE[text] = canonical
        if canonical.startswith("-"):
            self.error(f"{what} must not be negative, got {text!r}", tok[1])
            return None
        return canonical

    def duration(self, tok, what: str) -> Fraction | None:
        text = tok[0]
        try:
            d = _quantity.parse_duration(text)
        except ValueError:
            self.error(f"{what}: expected a duration like 30s, 5m or 1h30m, got {text!r}", tok[1])
            return None
        if d < 0:
            self.error(f"{what} must not be negative, got {text!r}", tok[1])
            return None
        return d

    def seconds(self, tok, what: str) -> int | None:
        """A duration that Kubernetes stores as whole seconds."""
        d = self.duration(tok, what)
        if d is None:
            return None
        if d.denominator != 1:
            self.error(f"{what} must be whole seconds, got {tok[0]!r}", tok[1])
            return None
        return int(d)

    def int_or_percent(self, tok, what: str):
        text = tok[0]
        try:
            v = _quantity.parse_int_or_percent(text)
        except ValueError:
            self.error(f"{what}: expected a number or a percentage like 25%, got {text!r}", tok[1])
            return None
        if isinstance(v, int) and v < 0 or isinstance(v, str) and v.startswith("-"):
            self.error(f"{what} must not be negative, got {text!r}", tok[1])
            return None
        return v

    def choice(self, tok, what: str, choices: dict):
        """One of a set of words; ``choices`` maps the accepted spellings to values."""
        text = tok[0]
        if text in choices:
            return choices[text]
        lowered = text.lower().replace("_", "-")
        for k, v in choices.items():
            if k.lower() == lowered or str(v).lower() == lowered.replace("-", ""):
                return v
        shown = ", ".join(sorted({k for k in choices if k == k.lower()}))
        self.error(f"{what}: expected one of {shown}, got {text!r}", tok[1])
        return None


def _dns1035(text: str) -> list[str]:
    problems = _labels.validate_dns1123_label(text)
    if not problems and text and not text[0].isalpha():
        problems = ["a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                    "start with an alphabetic character, and end with an alphanumeric character "
                    "(e.g. 'my-name',  or 'abc-123', regex used for validation is "
                    "'[a-z]([-a-z0-9]*[a-z0-9])?')"]
    return problems
