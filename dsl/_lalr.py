"""A fast driver for Lark's LALR tables: contextual lexing and parsing in one loop.

Lark compiles ``grammar.lark`` into LALR(1) tables. This module runs those
tables with a tighter loop than ``Lark.parse``: tokens are plain tuples
``(value, pos, type)`` whose line and column are computed only when an
error needs them, whitespace and comments are skipped by the same regular
expression that finds the next token, and rule callbacks receive their
children directly (no intermediate tree). The lexing is Lark's contextual
lexing: in each parser state only the terminals that state accepts are
tried, and a word is a keyword only where that keyword is accepted.

Errors are reported as :class:`ParseFailure` (state, token, expected
terminals); turning them into words is the caller's business.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from lark import Lark
from lark.lexer import PatternStr
from lark.parsers.lalr_analysis import Shift

__all__ = ["Driver", "ParseFailure", "END"]

END = "$END"
_SKIP = r"(?:\s+|#[^\n]*)*+"   # possessive: never back into a comment


class ParseFailure(Exception):
    """An unexpected token (``token[2]`` is its type) or character in ``state``."""

    def __init__(self, token: tuple, state: int, expected: frozenset, history: list,
                 stack: list | None = None, braces: list | None = None):
        super().__init__(token)
        self.token = token
        self.state = state
        self.expected = expected
        self.history = history
        self.stack = stack or [state]
        self.braces = braces or []


class _Splice(list):
    """Children of an inlined rule (``_name`` or Lark's ``__x_star``), spliced into the parent."""

    __slots__ = ()


class Driver:
    """Runs one grammar's LALR tables with ``callbacks`` (name -> function(children))."""

    def __init__(self, lark: Lark, callbacks: dict[str, Callable[[list], Any]], word: str = "WORD"):
        parser = lark.parser.parser.parser
        table = parser.parse_table
        self.start_state = table.start_states["start"]
        self.end_state = table.end_states["start"]
        terminals = {str(t.name): t for t in lark.terminals}
        self.terminal_names = set(terminals)
        self.literals = {str(t.name): t.pattern.value for t in lark.terminals if isinstance(t.pattern, PatternStr)}
        word_re = re.compile(terminals[word].pattern.to_regexp())
        self.keywords = {name: v for name, v in self.literals.items() if word_re.fullmatch(v)}
        self.keywords_any = {v: name for name, v in self.keywords.items()}
        self._word = word
        self._word_regexp = terminals[word].pattern.to_regexp()
        self._terminals = terminals
        self._lexers: dict[frozenset, tuple] = {}
        # Per state: action table, and the lexer for what it accepts.
        self.states: dict[int, dict] = {}
        self.state_lexer: dict[int, tuple] = {}
        self.accepts: dict[int, frozenset] = {}
        rules: dict = {}
        for state, actions in table.states.items():
            acts = {}
            for sym, (action, arg) in actions.items():
                sym = str(sym)
                if action is Shift:
                    acts[sym] = (True, arg)
                else:
                    if arg not in rules:
                        rules[arg] = self._compile_rule(arg, callbacks)
                    acts[sym] = (False, rules[arg])
            self.states[state] = acts
            accepted = frozenset(str(s) for s in actions if s in terminals or s == END)
            self.accepts[state] = accepted
            self.state_lexer[state] = self._lexer_for(accepted)

        ordinary = {n for n in self.terminal_names
                    if n not in ("CMDLINE", "ITEM", "CALLABLE", "COUNT") and n not in lark.ignore_tokens}
        self.root_lexer = self._lexer_for(frozenset(ordinary))

    def acceptable(self, stack: list) -> set:
        """The terminals the parser would really shift from ``stack``.

        LALR merges lookaheads, so a state's table may list terminals that
        its context cannot take; running the reductions on a copy of the
        stack tells them apart (used only to word errors).
        """
        out = set()
        for term in self.accepts[stack[-1]]:
            states = list(stack)
            while True:
                act = self.states[states[-1]].get(term)
                if act is None:
                    break
                if act[0] or term == END and states[-1] == self.end_state:
                    out.add(term)
                    break
                size, origin = act[1][0], act[1][6]
                if size:
                    del states[-size:]
                goto = self.states[states[-1]].get(origin)
                if goto is None:
                    break
                states.append(goto[1])
                if term == END and states[-1] == self.end_state:
                    out.add(term)
                    break
        return out

    def identify(self, text: str, pos: int) -> tuple:
        """The token at ``pos`` by any terminal of the grammar (to name what was found)."""
        regex, names, keywords, word_index, _ = self.root_lexer
        m = regex.match(text, pos)
        if m is None or m.lastindex is None:
            return (text[pos], pos, "<char>")
        i = m.lastindex
        typ = names[i - 1]
        value = m.group(i)
        if i == word_index or typ is None:
            typ = self.keywords_any.get(value, self._word)
        return (value, m.start(i), typ)

    # -- construction
    def _compile_rule(self, rule, callbacks) -> tuple:
        keep_all = rule.options.keep_all_tokens
        keep = tuple(i for i, sym in enumerate(rule.expansion)
                     if keep_all or not (sym.is_term and sym.filter_out))
        splice = any(not sym.is_term and sym.name.startswith("_") for sym in rule.expansion)
        name = str(rule.origin.name)
        inline = name.startswith("_")
        expand1 = bool(rule.options.expand1)
        if rule.alias:
            name = str(rule.alias)
        fn = None if inline else callbacks.get(name)
        if fn is None and not inline:
            raise KeyError(f"no callback for grammar rule {name!r}")
        whole = keep == tuple(range(len(rule.expansion)))
        return (len(rule.expansion), None if whole else keep, splice, inline, expand1, fn,
                str(rule.origin.name))

    def _lexer_for(self, accepted: frozenset) -> tuple:
        lexer = self._lexers.get(accepted)
        if lexer is not None:
            return lexer
        patterns = []
        symbols = []
        keywords = {}
        for name in accepted:
            if name == END:
                continue
            if name in self.keywords:
                keywords[self.keywords[name]] = name
            elif name in self.literals:
                symbols.append((self.literals[name], name))
            else:
                t = self._terminals[name]
                patterns.append((-t.priority, name, t.pattern.to_regexp()))
        alts = []
        names = []
        for _, name, rx in sorted(patterns):
            alts.append(rx)
            names.append(name)
        if keywords and self._word not in accepted:
            alts.append(self._word_regexp)   # scan a word, then see if it is a keyword
            names.append(None)
        for text, name in sorted(symbols, key=lambda s: -len(s[0])):
            alts.append(re.escape(text))
            names.append(name)
        regex = re.compile(_SKIP + "(?:" + "|".join(f"({a})" for a in alts) + ")") if alts \
            else re.compile(_SKIP)
        word_index = names.index(self._word) + 1 if self._word in names else (
            names.index(None) + 1 if None in names else -1)
        lexer = (regex, tuple(names), keywords, word_index, accepted)
        self._lexers[accepted] = lexer
        return lexer

    # -- running
    def parse(self, text: str, on_error: Callable[[ParseFailure, list], bool] | None = None,
              skip: Callable[[tuple], bool] | None = None, starts: list | None = None):
        """Parse ``text``; ``on_error(failure, stack)`` may return True to drop the token and go on.

        After an error was forgiven, ``skip(token)`` is asked about every token
        (True drops it), so the caller can skip the rest of a bad construct.
        ``starts``, when given, receives the position of each top-level statement.
        """
        forgiven = False
        braces: list = []
        states = self.states
        state_lexer = self.state_lexer
        stack = [self.start_state]
        values: list = []
        pos = 0
        n = len(text)
        history: list = []
        skip_ws = re.compile(_SKIP)
        while True:
            state = stack[-1]
            regex, names, keywords, word_index, accepted = state_lexer[state]
            m = regex.match(text, pos)
            if m is None or m.lastindex is None:
                end = skip_ws.match(text, pos).end()
                if end >= n:
                    token = ("", n, END)
                else:
                    token = self.identify(text, end)
                pos = end if end >= n else end + max(1, len(token[0]))
            else:
                i = m.lastindex
                value = m.group(i)
                typ = names[i - 1]
                if i == word_index or typ is None:
                    typ = keywords.get(value, self._word)
                token = (value, m.start(i), typ)
                pos = m.end()
            # feed the token: reduce as long as the table says so, then shift
            typ = token[2]
            if forgiven and typ != END and skip(token):
                continue
            while True:
                state = stack[-1]
                act = states[state].get(typ)
                if act is None:
                    failure = ParseFailure(token, state, self.accepts[state], history[-8:],
                                           list(stack), list(braces))
                    if on_error is not None and typ != END and on_error(failure, stack):
                        forgiven = skip is not None
                        break
                    raise failure
                if act[0]:
                    if starts is not None and len(stack) <= 2:
                        starts.append(token[1])
                    stack.append(act[1])
                    values.append(token)
                    if typ == "LBRACE":
                        braces.append(token[1])
                    elif typ == "RBRACE" and braces:
                        braces.pop()
                    if len(history) > 8:
                        del history[:4]
                    history.append(token)
                    break
                size, keep, splice, inline, expand1, fn, origin = act[1]
                if size:
                    children = values[-size:]
                    del values[-size:]
                    del stack[-size:]
                else:
                    children = []
                if keep is not None:
                    children = [children[j] for j in keep]
                if splice:
                    # grow the left-recursive list in place: O(1) per item, not O(n)
                    first = children[0]
                    flat = first if type(first) is _Splice else [first]
                    for c in children[1:]:
                        if type(c) is _Splice:
                            flat.extend(c)
                        else:
                            flat.append(c)
                    children = flat
                if inline:
                    value = children if type(children) is _Splice else _Splice(children)
                elif expand1 and len(children) == 1:
                    value = children[0]
                else:
                    value = fn(children)
                goto = states[stack[-1]][origin]
                stack.append(goto[1])
                values.append(value)
                if typ == END and stack[-1] == self.end_state:
                    return values[-1]
            if typ == END and stack[-1] == self.end_state:
                return values[-1]
