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

from reconcile.api.quantity import human_duration as age

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
