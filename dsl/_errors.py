"""The language's errors: one root, :class:`DslError`, which is also a ``ValueError``.

Every error knows where it is (``path``, ``line``, ``column``, 1-based) and
renders like a compiler's::

    shop.cluster:3:18: expected a quantity like 250m or 2Gi, got '12x'
        requests cpu=12x
                     ^
"""

from __future__ import annotations

import bisect

__all__ = ["DslError", "DslSyntaxError", "DslErrors", "SelectorError", "YamlError", "Locator"]


class DslError(ValueError):
    """Something wrong in a text of the language (or a manifest), and where."""

    def __init__(self, message: str, line: int = 1, column: int = 1, path: str | None = None,
                 source_line: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.path = path
        self.source_line = source_line

    @property
    def errors(self) -> list["DslError"]:
        return [self]

    def location(self) -> str:
        return f"{self.path or '<input>'}:{self.line}:{self.column}"

    def render(self) -> str:
        """The error as a user sees it: location, message, the line and a caret."""
        out = f"{self.location()}: {self.message}"
        if self.source_line is not None:
            line = self.source_line.rstrip("\n").expandtabs(1)
            out += f"\n    {line}\n    {' ' * (self.column - 1)}^"
        return out

    def __str__(self) -> str:
        return self.render()

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for it (a notebook cell, the console): the rendered error, no traceback."""
        return self.render().splitlines()


class DslSyntaxError(DslError):
    """The text does not follow the grammar; the message says what was expected."""


class SelectorError(DslError):
    """A label selector that Kubernetes would reject."""


class YamlError(DslError):
    """Kubernetes YAML that cannot be read, or describes an invalid object."""


class DslErrors(DslError):
    """Several errors in one text, reported together (in order of position)."""

    def __init__(self, errors: list[DslError]):
        errors = sorted(errors, key=lambda e: (e.path or "", e.line, e.column))
        first = errors[0]
        super().__init__(first.message, first.line, first.column, first.path, first.source_line)
        self._errors = errors

    @property
    def errors(self) -> list[DslError]:
        return list(self._errors)

    SHOWN = 50

    def render(self) -> str:
        """Every error (the first 50 of a very long list), then how many there are."""
        n = len(self._errors)
        body = "\n".join(e.render() for e in self._errors[: self.SHOWN])
        if n > self.SHOWN:
            body += f"\n... and {n - self.SHOWN} more"
        return body + (f"\n{n} errors" if n > 1 else "")


class Locator:
    """Turns character offsets into line, column and the text of the line."""

    def __init__(self, text: str, path: str | None = None):
        self.text = text
        self.path = path
        self._starts: list[int] | None = None

    def _line_starts(self) -> list[int]:
        if self._starts is None:
            starts = [0]
            find = self.text.find
            i = find("\n")
            while i >= 0:
                starts.append(i + 1)
                i = find("\n", i + 1)
            self._starts = starts
        return self._starts

    def position(self, pos: int) -> tuple[int, int]:
        starts = self._line_starts()
        pos = max(0, min(pos, len(self.text)))
        i = bisect.bisect_right(starts, pos) - 1
        return i + 1, pos - starts[i] + 1

    def line_text(self, line: int) -> str:
        starts = self._line_starts()
        start = starts[line - 1]
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[start:end]

    def error(self, message: str, pos: int, cls: type[DslError] = DslError) -> DslError:
        line, column = self.position(pos)
        return cls(message, line, column, self.path, self.line_text(line))
