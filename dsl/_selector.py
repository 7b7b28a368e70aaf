"""``dsl.parse_selector``: Kubernetes' selector syntax, and the ``where`` form with ``and``."""

from __future__ import annotations

import re

from reconcile.api import labels as _labels

from dsl._errors import Locator, SelectorError

__all__ = ["parse_selector"]

_WHERE = re.compile(r"\s*where(?=\s|$)")


def parse_selector(text: str) -> _labels.Selector:
    """Parse a label selector, exactly as Kubernetes does; ``where`` adds ``and``.

    >>> s = parse_selector("where app=web and tier in (a, b)")
    >>> str(s), s.matches({"app": "web", "tier": "b"}), s.matches({"app": "web"})
    ('app=web,tier in (a,b)', True, False)
    >>> parse_selector("app=web,")
    Traceback (most recent call last):
      ...
    dsl._errors.SelectorError: <selector>:1:9: found '', expected: identifier after ','
        app=web,
                ^
    """
    if not isinstance(text, str):
        raise TypeError(f"a selector is text (str), got {type(text).__name__}")
    m = _WHERE.match(text)
    offset = m.end() if m else 0
    try:
        return _labels.parse(text[offset:], allow_and=bool(m))
    except _labels.SelectorSyntaxError as e:
        loc = Locator(text, "<selector>")
        raise loc.error(e.message, offset + (e.position or 0), SelectorError) from None
