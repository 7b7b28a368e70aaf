"""Kubernetes resource quantities, Go durations and int-or-percent values.

Pure functions ported case for case from k8s.io/apimachinery
(``pkg/api/resource``: quantity.go, amount.go, suffix.go; ``pkg/util/intstr``)
and Go's ``time.ParseDuration`` / ``Duration.String``.

>>> Quantity("1.5Gi"), str(Quantity("0.5")), Quantity("1Gi") == Quantity("1024Mi")
(Quantity('1536Mi'), '500m', True)
>>> parse_duration("1h30m10s"), format_duration(5410), go_duration_string(5410)
(Fraction(5410, 1), '1h30m10s', '1h30m10s')
>>> scaled_value_from_int_or_percent("25%", 10, round_up=True)
3

Kubernetes quirks kept on purpose: values are kept to nano precision, finer
non-zero values round away from zero (``"0.1m"`` is ``100u``, ``"0.9n"`` is
``1n``); a BinarySI value is capped at 2**63-1 in magnitude; a number may be
``"1."``, ``".5"`` or even empty (``"k"``, ``"-"`` and ``"."`` parse as zero).
Deliberate limits: a numeric part of more than 1000 digits, a magnitude of
10**1000 or more, and a decimal exponent outside int32 are rejected (Kubernetes
keeps the first two, and wraps an int64 exponent to int32).
"""

from __future__ import annotations

import operator as _op
import re
from decimal import Decimal
from fractions import Fraction

__all__ = [
    "BINARY_SI", "DECIMAL_SI", "DECIMAL_EXPONENT",
    "QuantityError", "Quantity", "parse_quantity", "is_quantity",
    "DurationError", "parse_duration", "format_duration", "go_duration_string", "human_duration",
    "IntOrPercentError", "parse_int_or_percent", "scaled_value_from_int_or_percent",
]

BINARY_SI, DECIMAL_SI, DECIMAL_EXPONENT = "BinarySI", "DecimalSI", "DecimalExponent"

_NANO = 10**9
_MAX_INT64 = 2**63 - 1
_MAX_DIGITS = 1000
_MAX_NANOS = 10 ** (_MAX_DIGITS + 9)
_DEC_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BIN_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DEC_BY_EXP = {e: s for s, e in _DEC_SUFFIXES.items()}
_BIN_BY_POW = {e // 10: s for s, e in _BIN_SUFFIXES.items()}
_QUANTITY_RE = re.compile(r"([+-]?)(0*)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[+-]?[0-9]*)")
_DURATION_RE = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^.0-9]*)")
_INT_RE = re.compile(r"[+-]?[0-9]+\Z")


def _atoi(text: str, bits: int) -> int | None:
    """Go's ``strconv.ParseInt(text, 10, bits)``, or None on a syntax or range error."""
    if not _INT_RE.match(text) or len(text.lstrip("+-0")) > 20:
        return None
    n = int(text)
    return n if -(2 ** (bits - 1)) <= n < 2 ** (bits - 1) else None


class _InputError(ValueError):
    _expected = ""

    def __init__(self, text, detail: str = "", message: str | None = None):
        shown = repr(text) if len(repr(text)) <= 80 else repr(text)[:60] + "..."
        self.text, self.detail = text, detail
        self.message = message or f"expected {self._expected}, got {shown}" + (f" ({detail})" if detail else "")
        super().__init__(self.message)


class QuantityError(_InputError):
    """Not a Kubernetes quantity (``.message`` says so in words), or a result too large to keep."""

    _expected = "a quantity like 250m or 2Gi"


def _interpret(s: str, suffix: str):
    """Kubernetes' suffixer.interpret: (base, exponent, format)."""
    if suffix in _DEC_SUFFIXES:
        return 10, _DEC_SUFFIXES[suffix], DECIMAL_SI
    if suffix in _BIN_SUFFIXES:
        return 2, _BIN_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE" and _INT_RE.match(suffix[1:]):
        exp = _atoi(suffix[1:], 32)  # Kubernetes reads int64 and then wraps it to int32
        if exp is None:
            raise QuantityError(s, "exponent out of range")
        return 10, exp, DECIMAL_EXPONENT
    raise QuantityError(s, f"unknown suffix {suffix!r}")


def _parse(s: str) -> tuple[int, str]:
    """Parse like ParseQuantity, returning (value in nanounits, format)."""
    m = _QUANTITY_RE.fullmatch(s) if s else None  # greedy: splits as parseQuantityString does
    if not m:
        raise QuantityError(s)
    sign, zeros, num, denom, suffix = m.groups("")
    base, exp, fmt = _interpret(s, suffix)
    # Kubernetes' slow (inf.Dec) path cannot read a number without digits.
    if not (zeros or num or denom) and (exp >= 50 if fmt == BINARY_SI else exp < -9):
        raise QuantityError(s, "no digits")
    if len(num) + len(denom) > _MAX_DIGITS:
        raise QuantityError(s, f"more than {_MAX_DIGITS} digits")
    digits = (num + denom).lstrip("0")
    shift, k = (exp, 9 - len(denom)) if base == 2 else (0, exp - len(denom) + 9)
    if not digits:
        nanos = 0
    elif k >= 0:
        if len(digits) + k > _MAX_DIGITS + 10:
            raise QuantityError(s, "too large")
        nanos = (int(digits) << shift) * 10**k
    elif -k > len(digits) + 19:  # below a nanounit: rounds up to one
        nanos = 1
    else:
        q, r = divmod(int(digits) << shift, 10**-k)
        nanos = q + (r != 0)  # round away from zero to nano precision
    if fmt == BINARY_SI:
        nanos = min(nanos, _MAX_INT64 * _NANO)
        if 0 < nanos < _NANO:
            fmt = DECIMAL_SI
    if nanos >= _MAX_NANOS:
        raise QuantityError(s, "too large")
    return (-nanos if sign == "-" else nanos), fmt


class Quantity:
    """An immutable Kubernetes ``resource.Quantity`` held exactly in nanounits.

    Equality, hashing and ordering go by value; the format (``BinarySI``,
    ``DecimalSI`` or ``DecimalExponent``) only shapes :meth:`canonical`.

    >>> q = Quantity("1.5")
    >>> q, q.value, q.format, q.milli_value(), q.value_int()
    (Quantity('1500m'), Fraction(3, 2), 'DecimalSI', 1500, 2)
    >>> Quantity("2Gi") + Quantity("512Mi"), Quantity("1") - Quantity("250m")
    (Quantity('2560Mi'), Quantity('750m'))
    >>> sorted([Quantity("1Gi"), Quantity("1G"), Quantity("1e3")])
    [Quantity('1e3'), Quantity('1G'), Quantity('1Gi')]
    """

    __slots__ = ("_nanos", "_format")

    def __new__(cls, text):
        if isinstance(text, Quantity):
            return text
        if isinstance(text, int) and not isinstance(text, bool):
            return cls._make(text * _NANO, DECIMAL_SI)
        if not isinstance(text, str):
            raise QuantityError(text, f"not a string: {type(text).__name__}")
        return cls._make(*_parse(text))

    @classmethod
    def _make(cls, nanos: int, fmt: str) -> "Quantity":
        if abs(nanos) >= _MAX_NANOS:
            raise QuantityError(None, message=f"quantity too large: magnitude 10**{_MAX_DIGITS} or more")
        self = object.__new__(cls)
        object.__setattr__(self, "_nanos", nanos)
        object.__setattr__(self, "_format", fmt)
        return self

    @classmethod
    def parse(cls, text) -> "Quantity":
        """Parse a Kubernetes quantity string (or an int) like ``ParseQuantity``."""
        return cls(text)

    def __setattr__(self, name, *value):
        raise AttributeError("Quantity is immutable")

    __delattr__ = __setattr__
    __copy__ = __deepcopy__ = lambda self, *memo: self

    def __reduce__(self):
        return (Quantity._make, (self._nanos, self._format))

    @property
    def value(self) -> Fraction:
        """The exact numeric value."""
        return Fraction(self._nanos, _NANO)

    @property
    def format(self) -> str:
        """``"BinarySI"``, ``"DecimalSI"`` or ``"DecimalExponent"``."""
        return self._format

    def scaled_value(self, scale: int) -> int:
        """Value / 10**scale rounded away from zero, like ``ScaledValue`` (no int64 overflow).

        >>> Quantity("1.001").scaled_value(-3), Quantity("-1.5").scaled_value(0)
        (1001, -2)
        """
        n, shift = self._nanos, scale + 9
        if shift <= 0:
            return n * 10**-shift
        if shift > _MAX_DIGITS + 20:
            return (n > 0) - (n < 0)
        q, r = divmod(abs(n), 10**shift)
        q += r != 0
        return q if n >= 0 else -q

    def milli_value(self) -> int:
        """``MilliValue()``: value*1000 rounded away from zero (``"0.1m"`` gives 1)."""
        return self.scaled_value(-3)

    def value_int(self) -> int:
        """``Value()``: the value rounded away from zero to an integer."""
        return self.scaled_value(0)

    def canonical(self) -> str:
        """The canonical string, like Kubernetes' ``CanonicalizeBytes``.

        >>> [Quantity(s).canonical() for s in ("1024Mi", "1000m", "100M", "1e3", "0.1m", "-1.5Gi")]
        ['1Gi', '1', '100M', '1e3', '100u', '-1536Mi']
        """
        n, fmt = self._nanos, self._format
        if n == 0:
            return "0"
        if fmt == BINARY_SI:
            if -1024 * _NANO < n < 1024 * _NANO or n % _NANO:
                fmt = DECIMAL_SI  # as Kubernetes: no rounding, and no "0.5Ki"
            else:
                m, e = n // _NANO, 0
                while m % 1024 == 0:
                    m, e = m // 1024, e + 1
                if e <= 6:
                    return f"{m}{_BIN_BY_POW.get(e, '')}"
                fmt = DECIMAL_SI  # Kubernetes drops the suffix above Ei; keep the value
        m, e = n, -9
        while m % 10 == 0:
            m, e = m // 10, e + 1
        r = e % 3
        m, e = m * 10**r, e - r
        if fmt == DECIMAL_SI and e in _DEC_BY_EXP:
            return f"{m}{_DEC_BY_EXP[e]}"
        return f"{m}e{e}" if e else str(m)  # DecimalExponent, or DecimalSI beyond "E"

    __str__ = canonical

    def __repr__(self):
        return f"Quantity({self.canonical()!r})"

    def __hash__(self):
        return hash(self._nanos)

    def __bool__(self):
        return self._nanos != 0

    def _compare(op):
        def method(self, other):
            return op(self._nanos, other._nanos) if isinstance(other, Quantity) else NotImplemented
        return method

    __eq__, __lt__, __le__, __gt__, __ge__ = map(_compare, (_op.eq, _op.lt, _op.le, _op.gt, _op.ge))
    del _compare

    def _arith(op):
        def method(self, other):
            if not isinstance(other, Quantity):
                return NotImplemented
            return Quantity._make(op(self._nanos, other._nanos), self._format if self._nanos else other._format)
        method.__doc__ = f"Kubernetes {op.__name__.title()}: keeps the left format unless the left value is zero."
        return method

    __add__, __sub__ = _arith(_op.add), _arith(_op.sub)
    del _arith

    def __radd__(self, other):  # lets sum() start from 0
        if type(other) is int and other == 0:
            return self
        return NotImplemented

    def __neg__(self):
        return Quantity._make(-self._nanos, self._format)


def parse_quantity(text) -> Quantity:
    """Same as :meth:`Quantity.parse`.

    >>> parse_quantity("250m").milli_value()
    250
    """
    return Quantity(text)


def is_quantity(text) -> bool:
    """Whether ``text`` parses as a quantity.

    >>> is_quantity("2Gi"), is_quantity("12x"), is_quantity(" 1")
    (True, False, False)
    """
    try:
        Quantity(text)
    except QuantityError:
        return False
    return True


# --- durations (Go time.ParseDuration, used by metav1.Duration) -------------

_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6,
          "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_SUB_SECOND = (("ms", 10**6), ("us", 10**3), ("ns", 1))


class DurationError(_InputError):
    """Not a Go duration, or seconds that no Go duration (int64 nanoseconds) can hold."""

    _expected = "a duration like 30s or 5m"


def _parse_duration_ns(orig: str) -> int:
    """A port of Go's ParseDuration, returning nanoseconds."""
    if not isinstance(orig, str):
        raise DurationError(orig, "not a string")
    s, d, neg = orig, 0, False
    if s[:1] in ("+", "-"):
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise DurationError(orig)
    pos = 0
    while pos < len(s):
        m = _DURATION_RE.match(s, pos)
        whole, fraction, u = m.groups("")
        pos = m.end()
        if not whole and not fraction:  # no digits, e.g. ".s" or "-.s"
            raise DurationError(orig)
        if not u:
            raise DurationError(orig, "missing unit")
        if u not in _UNITS:
            raise DurationError(orig, f"unknown unit {u!r}; use ns, us, ms, s, m or h")
        unit = _UNITS[u]
        v = int(whole or "0") if len(whole.lstrip("0")) <= 20 else 1 << 64  # leadingInt
        if v > (1 << 63) // unit:
            raise DurationError(orig, "out of range")
        v *= unit
        f, scale = 0, 1.0
        for c in fraction:  # leadingFraction: stop adding digits before overflow
            if f > _MAX_INT64 // 10 or f * 10 + int(c) > 1 << 63:
                break
            f, scale = f * 10 + int(c), scale * 10
        if f > 0:  # Go computes the fraction in float64; so do we, bit for bit
            v += int(float(f) * (float(unit) / scale))
            if v > 1 << 63:
                raise DurationError(orig, "out of range")
        d += v
        if d > 1 << 63:
            raise DurationError(orig, "out of range")
    if not neg and d > _MAX_INT64:
        raise DurationError(orig, "out of range")
    return -d if neg else d


def parse_duration(text: str) -> Fraction:
    """Parse a Go duration (``time.ParseDuration``) into exact seconds.

    >>> parse_duration("300ms"), parse_duration("-1.5h"), parse_duration("10µs")
    (Fraction(3, 10), Fraction(-5400, 1), Fraction(1, 100000))
    """
    return Fraction(_parse_duration_ns(text), _NANO)


def _to_ns(seconds) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, Fraction, Decimal, float)):
        raise TypeError(f"expected seconds as a number, got {type(seconds).__name__}")
    try:
        exact = Fraction(repr(seconds)) if isinstance(seconds, float) else Fraction(seconds)
    except (ValueError, OverflowError) as e:
        raise DurationError(seconds, message=f"not a finite number of seconds: {seconds!r}") from e
    ns = exact * _NANO
    if ns.denominator != 1:
        raise DurationError(seconds, message=f"not a whole number of nanoseconds: {seconds!r}")
    if not -(1 << 63) <= ns <= _MAX_INT64:
        raise DurationError(seconds, message=f"out of the Go duration range: {seconds!r}")
    return int(ns)


def human_duration(seconds: float) -> str:
    """``duration.HumanDuration`` (apimachinery), as kubectl shows an age.

    >>> [human_duration(s) for s in (0.4, 59, 119, 150, 599, 1800, 3 * 3600 + 600, 9 * 3600, 3 * 86400 + 7200, 30 * 86400)]
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


def format_duration(seconds) -> str:
    """Our canonical short form; ``parse_duration`` reads it back exactly.

    Whole seconds print as h/m/s with zero parts left out. Otherwise hours and
    minutes print as usual and the remaining seconds, with their fraction, print
    as one whole number of the largest of ms/us/ns that holds them exactly.
    Floats are read by their shortest repr (0.1 is 100ms).

    >>> [format_duration(x) for x in (90, 3600, 0.25, 0, 1.5, 61.5, Fraction(-1, 10**9))]
    ['1m30s', '1h', '250ms', '0s', '1500ms', '1m1500ms', '-1ns']
    """
    ns = _to_ns(seconds)
    if ns == 0:
        return "0s"
    whole, frac = divmod(abs(ns), _NANO)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    if frac == 0:
        parts.append(f"{secs}s" if secs else "")
    else:
        sub = secs * _NANO + frac
        parts.append(next(f"{sub // size}{unit}" for unit, size in _SUB_SECOND if sub % size == 0))
    return ("-" if ns < 0 else "") + "".join(parts)


def _fmt_frac(value: int, prec: int) -> str:
    whole, frac = divmod(value, 10**prec)
    return f"{whole}.{str(frac).rjust(prec, '0').rstrip('0')}" if frac else str(whole)


def go_duration_string(seconds) -> str:
    """Go's ``time.Duration.String()`` of ``seconds``.

    >>> [go_duration_string(x) for x in (5400, 1.5, 0.25, 0, Fraction(3, 2 * 10**6))]
    ['1h30m0s', '1.5s', '250ms', '0s', '1.5µs']
    """
    ns = _to_ns(seconds)
    u, sign = abs(ns), "-" if ns < 0 else ""
    if u == 0:
        return "0s"
    if u < _NANO:
        prec, unit = (0, "ns") if u < 10**3 else (3, "µs") if u < 10**6 else (6, "ms")
        return sign + _fmt_frac(u, prec) + unit
    whole, frac = divmod(u, _NANO)
    out = f"{whole % 60}" + (_fmt_frac(frac, 9)[1:] if frac else "") + "s"
    minutes = whole // 60
    if minutes:
        out = f"{minutes % 60}m" + out
        if minutes // 60:
            out = f"{minutes // 60}h" + out
    return sign + out


# --- int-or-percent (k8s.io/apimachinery/pkg/util/intstr) ----------------------


class IntOrPercentError(_InputError):
    """Neither an int32 nor a percentage string like ``"25%"``."""

    _expected = "an integer or a percentage like 25%"


def _int32(value: int) -> int:
    if not -(2**31) <= value < 2**31:
        raise IntOrPercentError(value, "integer out of the int32 range")
    return value


def _percent(value: str) -> int:
    percent = _atoi(value[:-1], 64) if value.endswith("%") else None
    if percent is None:
        raise IntOrPercentError(value)
    return percent


def parse_int_or_percent(value) -> int | str:
    """Read an IntOrString: ints and int32 digit strings give ints, ``"NN%"`` stays a string.

    >>> parse_int_or_percent(3), parse_int_or_percent("3"), parse_int_or_percent("25%")
    (3, 3, '25%')
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return _int32(value)
    if isinstance(value, str):
        if _INT_RE.match(value):
            number = _atoi(value, 32)
            if number is None:
                raise IntOrPercentError(value, "integer out of the int32 range")
            return number
        _percent(value)
        return value
    raise IntOrPercentError(value)


def scaled_value_from_int_or_percent(value, total: int, round_up: bool) -> int:
    """Kubernetes ``GetScaledValueFromIntOrPercent``: an int as is, ``"NN%"`` of ``total``.

    A string must end in ``%`` (``"10"`` is an error, as in Kubernetes).

    >>> [scaled_value_from_int_or_percent(v, 95, r) for v, r in ((5, True), ("90%", True), ("90%", False))]
    [5, 86, 85]
    """
    if isinstance(total, bool) or not isinstance(total, int):
        raise TypeError(f"total must be an int, got {type(total).__name__}")
    if isinstance(value, int) and not isinstance(value, bool):
        return _int32(value)
    if not isinstance(value, str):
        raise IntOrPercentError(value)
    product = _percent(value) * total
    return -(-product // 100) if round_up else product // 100
