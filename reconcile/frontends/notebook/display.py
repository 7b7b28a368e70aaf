"""What the notebook front ends show: tables and texts with an HTML face and a ``text/plain`` twin.

Both render for Jupyter (``_repr_html_``, ``_repr_pretty_``) and print as
kubectl prints (columns padded by three spaces, upper-case headers).

>>> t = Table(["NAME", "READY"], [["web", "1/1"], ["db", "0/1"]])
>>> print(t)
NAME   READY
web    1/1
db     0/1
>>> print(Table(["NAME"], [], empty="No resources found."))
No resources found.
"""

from __future__ import annotations

import html
from typing import Sequence

__all__ = ["Table", "Text", "age"]

_STYLE = ("<style>.reconcile-table td,.reconcile-table th{text-align:left;padding:2px 10px;"
          "font-family:monospace}</style>")


class Table:
    """Rows under upper-case headers; ``title`` is shown above it in HTML only."""

    def __init__(self, columns: Sequence[str], rows: Sequence[Sequence], empty: str = "No resources found.",
                 title: str | None = None):
        self.columns = list(columns)
        self.rows = [[str(c) for c in r] for r in rows]
        self.empty = empty
        self.title = title

    def column(self, name: str) -> list[str]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __str__(self) -> str:
        if not self.rows:
            return self.empty
        widths = [max(len(x) for x in col) for col in zip(self.columns, *self.rows)]
        lines = ["   ".join(x.ljust(w) for x, w in zip(row, widths)).rstrip() for row in [self.columns, *self.rows]]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        if not self.rows:
            return f"<p>{html.escape(self.empty)}</p>"
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self.rows)
        title = f"<b>{html.escape(self.title)}</b>" if self.title else ""
        return f'{_STYLE}{title}<table class="reconcile-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


class Text:
    """Plain text (a plan, a log, YAML) shown preformatted in HTML."""

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.text)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.text)}</pre>"


def age(seconds: float) -> str:
    """kubectl's ``HumanDuration`` of an age.

    >>> [age(s) for s in (0.4, 59, 119, 150, 599, 1800, 3 * 3600 + 600, 9 * 3600, 3 * 86400 + 7200, 30 * 86400)]
    ['0s', '59s', '119s', '2m30s', '9m59s', '30m', '3h10m', '9h', '3d2h', '30d']
    """
    s = int(max(seconds, 0))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if d < 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    return f"{d}d"
