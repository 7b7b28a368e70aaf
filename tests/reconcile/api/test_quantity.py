"""Tests for reconcile.api.quantity.

The tables are ported case for case from Kubernetes' own tests
(k8s.io/apimachinery/pkg/api/resource/quantity_test.go and
pkg/util/intstr/intstr_test.go) and from Go's src/time/time_test.go. Kubernetes'
``decQuantity(m, e, format)`` is written here as ``q(m, e, format)``: the value
m * 10**e carried in that format.
"""

import copy
import doctest
import pickle
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

import reconcile.api.quantity as quantity_module
from reconcile.api.quantity import (
    BINARY_SI, DECIMAL_EXPONENT, DECIMAL_SI, DurationError, IntOrPercentError, Quantity,
    QuantityError, format_duration, go_duration_string, is_quantity, parse_duration,
    parse_int_or_percent, parse_quantity, scaled_value_from_int_or_percent,
)

MOST_POSITIVE, MOST_NEGATIVE = 2**63 - 1, -(2**63)
BI, DSI, DEX = BINARY_SI, DECIMAL_SI, DECIMAL_EXPONENT
NS = 10**9
SECOND, MINUTE, HOUR = NS, 60 * NS, 3600 * NS
MS, US = 10**6, 10**3


def val(m, e=0):
    return Fraction(m) * Fraction(10) ** e


def q(m, e=0, fmt=DSI):
    """A Quantity of value m * 10**e in format fmt (Kubernetes' decQuantity/intQuantity)."""
    nanos = val(m, e) * NS
    assert nanos.denominator == 1
    return Quantity._make(int(nanos), fmt)


# --- TestQuantityParse ---------------------------------------------------------------

PARSE_TABLE = [
    ("0", val(0), DSI), ("0n", val(0), DSI), ("0u", val(0), DSI), ("0m", val(0), DSI),
    ("0Ki", val(0), BI), ("0k", val(0), DSI), ("0Mi", val(0), BI), ("0M", val(0), DSI),
    ("0Gi", val(0), BI), ("0G", val(0), DSI), ("0Ti", val(0), BI), ("0T", val(0), DSI),
    # Quantity less numbers are allowed
    ("1", val(1), DSI),
    # Binary suffixes
    ("1Ki", val(1024), BI), ("8Ki", val(8 * 1024), BI), ("7Mi", val(7 * 1024**2), BI),
    ("6Gi", val(6 * 1024**3), BI), ("5Ti", val(5 * 1024**4), BI), ("4Pi", val(4 * 1024**5), BI),
    ("3Ei", val(3 * 1024**6), BI), ("10Ti", val(10 * 1024**4), BI), ("100Ti", val(100 * 1024**4), BI),
    # Decimal suffixes
    ("5n", val(5, -9), DSI), ("4u", val(4, -6), DSI), ("3m", val(3, -3), DSI), ("9", val(9), DSI),
    ("8k", val(8, 3), DSI), ("50k", val(5, 4), DSI), ("7M", val(7, 6), DSI), ("6G", val(6, 9), DSI),
    ("5T", val(5, 12), DSI), ("40T", val(4, 13), DSI), ("300T", val(3, 14), DSI),
    ("2P", val(2, 15), DSI), ("1E", val(1, 18), DSI),
    # Decimal exponents
    ("1E-3", val(1, -3), DEX), ("1e3", val(1, 3), DEX), ("1E6", val(1, 6), DEX),
    ("1e9", val(1, 9), DEX), ("1E12", val(1, 12), DEX), ("1e15", val(1, 15), DEX),
    ("1E18", val(1, 18), DEX),
    # Nonstandard but still parsable
    ("1e14", val(1, 14), DEX), ("1e13", val(1, 13), DEX), ("1e3", val(1, 3), DEX),
    ("100.035k", val(100035), DSI),
    # Things that look like floating point
    ("0.001", val(1, -3), DSI), ("0.0005k", val(5, -1), DSI), ("0.005", val(5, -3), DSI),
    ("0.05", val(5, -2), DSI), ("0.5", val(5, -1), DSI), ("0.00050k", val(5, -1), DSI),
    ("0.00500", val(5, -3), DSI), ("0.05000", val(5, -2), DSI), ("0.50000", val(5, -1), DSI),
    ("0.5e0", val(5, -1), DEX), ("0.5e-1", val(5, -2), DEX), ("0.5e-2", val(5, -3), DEX),
    ("0.5e0", val(5, -1), DEX), ("10.035M", val(10035, 3), DSI),
    ("1.2e3", val(12, 2), DEX), ("1.3E+6", val(13, 5), DEX), ("1.40e9", val(14, 8), DEX),
    ("1.53E12", val(153, 10), DEX), ("1.6e15", val(16, 14), DEX), ("1.7E18", val(17, 17), DEX),
    ("9.01", val(901, -2), DSI), ("8.1k", val(81, 2), DSI), ("7.123456M", val(7123456), DSI),
    ("6.987654321G", val(6987654321), DSI), ("5.444T", val(5444, 9), DSI),
    ("40.1T", val(401, 11), DSI), ("300.2T", val(3002, 11), DSI), ("2.5P", val(25, 14), DSI),
    ("1.01E", val(101, 16), DSI),
    # Things that saturate/round
    ("3.001n", val(4, -9), DSI), ("1.1E-9", val(2, -9), DEX), ("0.0000000001", val(1, -9), DSI),
    ("0.0000000005", val(1, -9), DSI), ("0.00000000050", val(1, -9), DSI),
    ("0.5e-9", val(1, -9), DEX), ("0.9n", val(1, -9), DSI), ("0.00000012345", val(124, -9), DSI),
    ("0.00000012354", val(124, -9), DSI), ("9Ei", val(MOST_POSITIVE), BI),
    ("9223372036854775807Ki", val(MOST_POSITIVE), BI), ("12E", val(12, 18), DSI),
    # We'll accept fractional binary stuff, too.
    ("100.035Ki", val(10243584, -2), BI), ("0.5Mi", val(512 * 1024), BI),
    ("0.05Gi", val(536870912, -1), BI), ("0.025Ti", val(274877906944, -1), BI),
    # Things written by trolls
    ("0.000000000001Ki", val(2, -9), DSI),  # rounds up, changes format
    (".001", val(1, -3), DSI), (".0001k", val(100, -3), DSI), ("1.", val(1), DSI),
    ("1.G", val(1, 9), DSI),
]


@pytest.mark.parametrize("text, value, fmt", PARSE_TABLE)
@pytest.mark.parametrize("sign", ["", "-", "+"])
def test_quantity_parse(text, value, fmt, sign):
    got = Quantity.parse(sign + text)
    assert got.value == (-value if sign == "-" else value)
    assert got.format == fmt


@pytest.mark.parametrize("text", [
    "1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-",
    " 1", "1 ",  # trailing whitespace is forbidden
    "", "Non-Numeric",  # TestQuantityParse's empty check and TestQuantityParseNonNumericPanic
    "12x", "1K", "1ki", "1KB", "1e", "1e+", "1Mi5", "1k5", "1Ee3", "\u0661", "1\n",
])
def test_quantity_parse_invalid(text):
    with pytest.raises(QuantityError) as info:
        Quantity.parse(text)
    assert isinstance(info.value, ValueError)
    assert info.value.message.startswith(f"expected a quantity like 250m or 2Gi, got {text!r}")
    assert not is_quantity(text)


def test_quantity_error_message():
    with pytest.raises(QuantityError) as info:
        parse_quantity("12x")
    assert info.value.message == str(info.value) == "expected a quantity like 250m or 2Gi, got '12x'"


# TestParseQuantityString: how the scanner splits sign, numerator, denominator and suffix.
@pytest.mark.parametrize("text, positive, num, denom, suffix", [
    ("0.025Ti", True, "0", "025", "Ti"), ("1.025Ti", True, "1", "025", "Ti"),
    ("-1.025Ti", False, "1", "025", "Ti"), (".", True, "0", "", ""), ("-.", False, "0", "", ""),
    ("1E-3", True, "1", "", "E-3"),
])
def test_parse_quantity_string(text, positive, num, denom, suffix):
    sign, _zeros, got_num, got_denom, got_suffix = quantity_module._QUANTITY_RE.fullmatch(text).groups("")
    assert (sign != "-", got_num or "0", got_denom, got_suffix) == (positive, num, denom, suffix)


@pytest.mark.parametrize("text, fmt", [
    # Kubernetes quirks: a number without digits reads as zero on the fast path ...
    (".", DSI), ("-.", DSI), ("-", DSI), ("+", DSI), ("k", DSI), ("m", DSI), ("Ki", BI), ("Ti", BI),
    ("e3", DEX), ("-0", DSI), ("00", DSI), ("0e-10", DEX),
])
def test_digitless_numbers_parse_as_zero(text, fmt):
    got = Quantity(text)
    assert (got.value, got.format, str(got)) == (0, fmt, "0")


@pytest.mark.parametrize("text", ["Pi", "Ei", "-Ei", ".Ei", "e-10", "-.e-10"])
def test_digitless_numbers_on_the_slow_path_are_errors(text):
    # ... but inf.Dec (the slow path: BinarySI >= Pi, exponents below nano) rejects them.
    assert not is_quantity(text)


def test_quantity_parse_zero():
    assert str(Quantity.parse("0")) == "0"


def test_parse_accepts_ints_and_quantities():
    assert Quantity(1500) == Quantity("1.5k") and Quantity(1500).format == DSI
    x = Quantity("1Gi")
    assert Quantity(x) is x and parse_quantity(x) is x
    for bad in (True, 1.5, None, Decimal("1"), b"1"):
        with pytest.raises(QuantityError):
            Quantity(bad)


@pytest.mark.parametrize("text, detail", [
    ("1e4294967296", "exponent out of range"),  # Kubernetes wraps this exponent to 0 (value 1)
    ("1e9223372036854775808", "exponent out of range"),  # Kubernetes: ErrSuffix
    ("1e1001", "too large"),
    ("1" * 1001, "more than 1000 digits"),
])
def test_practical_limits(text, detail):
    with pytest.raises(QuantityError) as info:
        Quantity(text)
    assert info.value.detail == detail
    assert len(info.value.message) < 200


def test_very_small_exponents_round_up_to_one_nano():
    assert Quantity("1e-2147483648") == Quantity("1n")
    assert Quantity("-0." + "0" * 900 + "1") == Quantity("-1n")
    assert Quantity("1e999").canonical() == "1e999" and not is_quantity("1e1000")


# --- TestQuantityString / TestQuantityParseEmit / canonical form ---------------------

STRING_TABLE = [
    (q(1024**3, 0, BI), "1Gi", "1024Mi"), (q(300 * 1024**2, 0, BI), "300Mi", "307200Ki"),
    (q(6 * 1024, 0, BI), "6Ki", ""), (q(1001 * 1024**3, 0, BI), "1001Gi", "1025024Mi"),
    (q(1024**4, 0, BI), "1Ti", "1024Gi"), (q(5, 0, BI), "5", "5000m"), (q(500, -3, BI), "500m", "0.5"),
    (q(1, 9), "1G", "1000M"), (q(1000, 6), "1G", "0.001T"), (q(1000000, 3), "1G", ""),
    (q(1000000000, 0), "1G", ""), (q(1, -3), "1m", "1000u"), (q(80, -3), "80m", ""),
    (q(1080, -3), "1080m", "1.08"), (q(108, -2), "1080m", "1080000000n"), (q(10800, -4), "1080m", ""),
    (q(300, 6), "300M", ""), (q(1, 12), "1T", ""),
    # DecimalSI has no suffix beyond "E": larger exponents fall back to exponent notation.
    (q(1, 18), "1E", ""), (q(1, 21), "1e21", "1000E"), (q(5, 21), "5e21", "5000E"),
    (q(1, 24), "1e24", "1000000E"),
    (q(1234567, 6), "1234567M", ""), (q(1234567, -3, BI), "1234567m", ""), (q(3, 3), "3k", ""),
    (q(1025, 0, BI), "1025", ""), (q(0, 0), "0", ""), (q(0, 0, BI), "0", ""),
    (q(1, 9, DEX), "1e9", ".001e12"), (q(1, -3, DEX), "1e-3", "0.001e0"),
    (q(1, -9, DEX), "1e-9", "1000e-12"), (q(80, -3, DEX), "80e-3", ""), (q(300, 6, DEX), "300e6", ""),
    (q(1, 12, DEX), "1e12", ""), (q(1, 3, DEX), "1e3", ""), (q(3, 3, DEX), "3e3", ""),
    (q(3, 3), "3k", ""), (q(0, 0, DEX), "0", "00"), (q(1, -9), "1n", ""), (q(80, -9), "80n", ""),
    (q(1080, -9), "1080n", ""), (q(108, -8), "1080n", ""), (q(10800, -10), "1080n", ""),
    (q(1, -6), "1u", ""), (q(80, -6), "80u", ""), (q(1080, -6), "1080u", ""),
]


@pytest.mark.parametrize("quantity, expect, alternate", STRING_TABLE)
def test_quantity_string(quantity, expect, alternate):
    assert str(quantity) == quantity.canonical() == expect
    assert Quantity.parse(expect) == quantity
    assert str(Quantity.parse(expect)) == expect
    if alternate:
        assert str(Quantity.parse(alternate)) == expect
    if quantity:  # never "-0"
        assert str(-quantity) == "-" + expect


@pytest.mark.parametrize("text, expect", [
    ("1Ki", "1Ki"), ("1Mi", "1Mi"), ("1Gi", "1Gi"), ("1024Mi", "1Gi"), ("1000M", "1G"),
    (".001Ki", "1024m"), (".000001Ki", "1024u"), (".000000001Ki", "1024n"), (".000000000001Ki", "2n"),
])
def test_quantity_parse_emit(text, expect):
    assert str(Quantity.parse(text)) == expect
    assert str(Quantity.parse("-" + text)) == "-" + expect


@pytest.mark.parametrize("text, expect", [
    ("0.5", "500m"), ("1024Mi", "1Gi"), ("1000m", "1"), ("1.5Gi", "1536Mi"), ("100M", "100M"),
    ("1e3", "1e3"), ("1E3", "1e3"), ("+1Ki", "1Ki"), ("01m", "1m"), ("0.1m", "100u"),
    ("-250m", "-250m"), ("-1Ki", "-1Ki"), ("-1023Ki", "-1023Ki"), ("1.5e3", "1500"),
    ("0.5e0", "500e-3"), ("1023.5Ki", "1048064"), ("2047", "2047"),
])
def test_canonical_examples(text, expect):
    assert Quantity(text).canonical() == str(Quantity(text)) == expect


def test_binary_si_beyond_ei_keeps_its_value():
    # Kubernetes would print 2**70 as "1" (no suffix above Ei); we fall back to DecimalSI.
    big = q(2**70, 0, BI)
    assert str(big) == "1180591620717411303424"
    assert Quantity(str(big)) == big
    assert str(q(2**63, 0, BI)) == "8Ei"


# --- TestQuantityCmp, Add, Sub, Neg ---------------------------------------------------

@pytest.mark.parametrize("x, y, expect", [("0", "0", 0), ("100m", "50m", 1), ("50m", "100m", -1),
                                          ("10000T", "100Gi", 1)])
def test_quantity_cmp(x, y, expect):
    a, b = Quantity(x), Quantity(y)
    assert ((a > b) - (a < b)) == expect
    assert (a == b) == (expect == 0) and (a != b) == (expect != 0)
    assert (a <= b) == (expect <= 0) and (a >= b) == (expect >= 0)


# TestQuantityCmpInt64AndDec, the rows whose scales are representable at nano precision.
@pytest.mark.parametrize("a, b, cmp", [
    (q(901, -2), q(901, -2), 0), (q(90, -1), q(901, -2), -1), (q(901, -2), q(900, -2), 1),
    (q(0, 0), q(0, 0), 0), (q(0, 1), q(0, -1), 0), (q(0, -1), q(0, 1), 0),
    (q(800, -3), q(1, 0), -1), (q(800, -3), q(79, -2), 1),
    (q(MOST_POSITIVE, 0), q(1, -1), 1), (q(MOST_POSITIVE, 1), q(1, 0), 1),
    (q(MOST_POSITIVE, 1), q(1, 1), 1), (q(MOST_POSITIVE, 1), q(0, 1), 1),
    (q(MOST_NEGATIVE, 0), q(0, 0), -1),
])
def test_quantity_cmp_table(a, b, cmp):
    assert ((a > b) - (a < b)) == cmp
    assert ((b > a) - (b < a)) == -cmp


def test_equality_and_hash_by_value():
    assert Quantity("1Gi") == Quantity("1024Mi") and Quantity("0.5") == Quantity("500m")
    assert Quantity("1k") == Quantity("1e3") and Quantity("1k").format != Quantity("1e3").format
    assert len({Quantity("1Gi"), Quantity("1024Mi"), Quantity("1073741824")}) == 1
    assert Quantity("1") != 1 and Quantity("1") != "1"
    with pytest.raises(TypeError):
        Quantity("1") < 1


@pytest.mark.parametrize("value", ["100m", "1Gi"])
def test_add_sub_zero_preserve_suffix(value):
    zero, x = Quantity("0"), Quantity(value)
    assert str(x + zero) == value and str(zero + x) == value
    assert str(x - zero) == value and str(zero - x) == str(-x)


ZERO = Quantity("0")


@pytest.mark.parametrize("a, b, expected, fmt", [
    (q(10, 0), q(1, 1), val(20), DSI), (q(10, 0), q(1, 0, BI), val(11), DSI),
    (q(10, 0, BI), q(1, 0), val(11), BI), (ZERO, q(50, 0), val(50), DSI),
    (q(50, 0), ZERO, val(50), DSI), (ZERO, ZERO, val(0), DSI),
])
def test_add(a, b, expected, fmt):
    assert (a + b).value == expected and (a + b).format == fmt


@pytest.mark.parametrize("a, b, expected, fmt", [
    (q(10, 0), q(1, 1), val(0), DSI), (q(10, 0), q(1, 0, BI), val(9), DSI),
    (q(10, 0, BI), q(1, 0), val(9), BI), (ZERO, q(50, 0), val(-50), DSI),
    (q(50, 0), ZERO, val(50), DSI), (ZERO, ZERO, val(0), DSI),
])
def test_sub(a, b, expected, fmt):
    assert (a - b).value == expected and (a - b).format == fmt


def test_zero_takes_the_other_format():
    assert (Quantity("0") + Quantity("1Gi")).format == BI
    assert (Quantity("0") - Quantity("1Gi")).format == BI
    assert sum([Quantity("1Gi"), Quantity("512Mi")]) == Quantity("1536Mi")
    with pytest.raises(TypeError):
        Quantity("1") + 1


@pytest.mark.parametrize("a, expected", [
    (q(0, 0), q(0, 0)), (q(10, 0, BI), q(-10, 0, BI)), (q(-10, 0, BI), q(10, 0, BI)),
])
def test_neg(a, expected):
    assert -a == expected and (-a).format == a.format


def test_quantity_neg_string():
    assert str(-q(901, -2)) == "-9010m"


def test_neg_and_sub_at_most_negative():
    # TestNegAndSubAtMostNegative / TestSubMostNegativeCrossScale / ...InheritsFormat
    most_negative = q(MOST_NEGATIVE)
    assert str(-most_negative) == "9223372036854775808" == str(ZERO - most_negative)
    assert -most_negative == Quantity("9223372036854775808")
    assert str(q(1) - most_negative) == "9223372036854775809"
    assert str(-q(MOST_NEGATIVE, -3)) == "9223372036854775808m"
    assert str(q(1, -3) - q(MOST_NEGATIVE, -3)) == "9223372036854775809m"
    assert str(-q(MOST_NEGATIVE + 1)) == str(MOST_POSITIVE)
    assert str(q(1, 1) - most_negative) == "9223372036854775818"
    inherited = ZERO - q(MOST_NEGATIVE, 0, BI)
    assert inherited.format == BI and str(inherited) == "8Ei" and inherited.value == 2**63


def test_arithmetic_too_large():
    with pytest.raises(QuantityError):
        Quantity("9e999") + Quantity("9e999")


# --- values: RoundUp, ScaledValue, MilliValue, Value ---------------------------------

# TestQuantityRoundUp: RoundUp(scale) leaves scaled_value(scale) * 10**scale.
@pytest.mark.parametrize("text, scale, expect", [
    ("9.01", -3, val(901, -2)), ("9.01", -2, val(901, -2)), ("9.01", -1, val(91, -1)),
    ("9.01", 0, val(10)), ("9.01", 1, val(10)), ("9.01", 2, val(100)),
    ("-9.01", -3, val(-901, -2)), ("-9.01", -2, val(-901, -2)), ("-9.01", -1, val(-91, -1)),
    ("-9.01", 0, val(-10)), ("-9.01", 1, val(-10)), ("-9.01", 2, val(-100)),
])
def test_quantity_round_up(text, scale, expect):
    assert Quantity(text).scaled_value(scale) * Fraction(10) ** scale == expect


# TestScaledValue: NewScaledQuantity(1, from).ScaledValue(to)
@pytest.mark.parametrize("from_scale, to_scale, expected", [
    (-9, -9, 1), (-9, -6, 1), (-9, -3, 1), (-9, 0, 1), (-6, -9, 1000), (-6, -6, 1), (-6, -3, 1),
    (-6, 0, 1), (-3, -9, 1000 * 1000), (-3, -6, 1000), (-3, -3, 1), (-3, 0, 1),
    (0, -9, 1000 * 1000 * 1000), (0, -6, 1000 * 1000), (0, -3, 1000), (0, 0, 1), (2, -2, 100 * 100),
])
def test_scaled_value(from_scale, to_scale, expected):
    assert q(1, from_scale).scaled_value(to_scale) == expected


# TestNewScaledSet
@pytest.mark.parametrize("value, scale, expect", [
    (1, -9, "1n"), (1000, -9, "1u"), (1, -6, "1u"), (1000, -6, "1m"), (1, -3, "1m"),
    (1000, -3, "1"), (1, 0, "1"), (0, -9, "0"), (0, -6, "0"), (0, -3, "0"), (0, 0, "0"),
])
def test_new_scaled_set(value, scale, expect):
    x = q(value, scale)
    assert str(x) == expect
    assert Quantity(str(x)).scaled_value(scale) == value


# TestMilliNewSet (the invalid-format row has no counterpart: formats are validated here)
@pytest.mark.parametrize("value, fmt, expect, exact", [
    (1, DSI, "1m", True), (1000, DSI, "1", True), (1234000, DSI, "1234", True),
    (1024, BI, "1024m", False), (1024 * 1024, BI, "1048576m", False),
])
def test_milli_new_set(value, fmt, expect, exact):
    x = q(value, -3, fmt)
    assert str(x) == expect
    if exact:
        assert Quantity(str(x)).milli_value() == value


# TestNewSet
@pytest.mark.parametrize("value, fmt, expect", [
    (1, DSI, "1"), (1000, DSI, "1k"), (1234000, DSI, "1234k"), (1024, BI, "1Ki"),
    (1024 * 1024, BI, "1Mi"),
])
def test_new_set(value, fmt, expect):
    x = q(value, 0, fmt)
    assert str(x) == expect and Quantity(str(x)).value_int() == value


@pytest.mark.parametrize("text, milli, whole", [
    ("250m", 250, 1), ("0.1m", 1, 1), ("1n", 1, 1), ("1.5", 1500, 2), ("2Gi", 2 * 1024**3 * 1000, 2 * 1024**3),
    ("-1.5", -1500, -2), ("-0.1m", -1, -1), ("0", 0, 0), ("12E", 12 * 10**21, 12 * 10**18),
])
def test_milli_value_and_value_int(text, milli, whole):
    assert Quantity(text).milli_value() == milli and Quantity(text).value_int() == whole


def test_value_is_exact_fraction():
    assert Quantity("1.5Gi").value == Fraction(1610612736)
    assert Quantity("3.001n").value == Fraction(4, 10**9)
    assert isinstance(Quantity("1").value, Fraction)


# --- object behaviour --------------------------------------------------------------

def test_immutable_repr_pickle_copy():
    x = Quantity("250m")
    assert repr(x) == "Quantity('250m')" and eval(repr(x), {"Quantity": Quantity}) == x
    with pytest.raises(AttributeError):
        x._nanos = 1
    with pytest.raises(AttributeError):
        x.format = BI
    with pytest.raises(AttributeError):
        del x._nanos
    for clone in (pickle.loads(pickle.dumps(Quantity("1Gi"))), copy.deepcopy(Quantity("1Gi"))):
        assert clone == Quantity("1Gi") and clone.format == BI
    assert copy.copy(x) is x and bool(x) and not Quantity("0")


# --- properties ------------------------------------------------------------------------

_DEC_EXP = {"": 0, "n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BIN_EXP = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
quantity_parts = st.tuples(
    st.sampled_from(["", "-", "+"]),
    st.from_regex(r"[0-9]{1,22}", fullmatch=True),
    st.one_of(st.just(""), st.from_regex(r"\.[0-9]{0,15}", fullmatch=True)),
    st.one_of(st.sampled_from(sorted(_DEC_EXP) + sorted(_BIN_EXP)),
              st.builds("{}{}".format, st.sampled_from("eE"), st.integers(-30, 40))),
)
quantity_texts = quantity_parts.map("".join)


def _oracle(sign, whole, frac, suffix):
    """Kubernetes' parse rules written over plain fractions: (value, format)."""
    exact = Fraction(whole + (frac if len(frac) > 1 else ""))
    if suffix in _BIN_EXP:
        exact, fmt = exact * 2 ** _BIN_EXP[suffix], BI
    elif suffix in _DEC_EXP:
        exact, fmt = exact * Fraction(10) ** _DEC_EXP[suffix], DSI
    else:
        exact, fmt = exact * Fraction(10) ** int(suffix[1:]), DEX
    nanos = exact * NS
    rounded = -(-nanos.numerator // nanos.denominator)  # up (away from zero: exact >= 0 here)
    if fmt == BI:
        rounded = min(rounded, MOST_POSITIVE * NS)  # BinarySI is capped at 2**63-1
        if 0 < rounded < NS:
            fmt = DSI  # no fractional BinarySI
    return Fraction(-rounded if sign == "-" else rounded, NS), fmt


@given(quantity_parts)
def test_parse_matches_the_kubernetes_rules(parts):
    parsed = Quantity("".join(parts))
    assert (parsed.value, parsed.format) == _oracle(*parts)


@given(quantity_texts)
def test_canonical_round_trip(text):
    parsed = Quantity(text)
    again = Quantity(str(parsed))
    assert again == parsed
    assert str(again) == str(parsed)  # the canonical form is a fixed point


@given(quantity_texts, quantity_texts)
def test_arithmetic_round_trip(a, b):
    x, y = Quantity(a), Quantity(b)
    assert (x + y) - y == x and x - y == -(y - x)
    assert (x + y).value == x.value + y.value
    for result in (x + y, x - y):
        again = Quantity(str(result))
        if str(result).endswith("i") and abs(result.value) > MOST_POSITIVE:
            # As in Kubernetes (#140674): sums may pass 2**63-1, but parsing caps BinarySI there.
            assert again.value == (MOST_POSITIVE if result.value > 0 else -MOST_POSITIVE)
        else:
            assert again == result


# --- durations: Go's parseDurationTests / parseDurationErrorTests ----------------------

PARSE_DURATION_TESTS = [
    # simple
    ("0", 0), ("5s", 5 * SECOND), ("30s", 30 * SECOND), ("1478s", 1478 * SECOND),
    # sign
    ("-5s", -5 * SECOND), ("+5s", 5 * SECOND), ("-0", 0), ("+0", 0),
    # decimal
    ("5.0s", 5 * SECOND), ("5.6s", 5 * SECOND + 600 * MS), ("5.s", 5 * SECOND), (".5s", 500 * MS),
    ("1.0s", 1 * SECOND), ("1.00s", 1 * SECOND), ("1.004s", 1 * SECOND + 4 * MS),
    ("1.0040s", 1 * SECOND + 4 * MS), ("100.00100s", 100 * SECOND + 1 * MS),
    # different units
    ("10ns", 10), ("11us", 11 * US), ("12µs", 12 * US), ("12μs", 12 * US),  # U+00B5, U+03BC
    ("13ms", 13 * MS), ("14s", 14 * SECOND), ("15m", 15 * MINUTE), ("16h", 16 * HOUR),
    # composite durations
    ("3h30m", 3 * HOUR + 30 * MINUTE), ("10.5s4m", 4 * MINUTE + 10 * SECOND + 500 * MS),
    ("-2m3.4s", -(2 * MINUTE + 3 * SECOND + 400 * MS)),
    ("1h2m3s4ms5us6ns", 1 * HOUR + 2 * MINUTE + 3 * SECOND + 4 * MS + 5 * US + 6),
    ("39h9m14.425s", 39 * HOUR + 9 * MINUTE + 14 * SECOND + 425 * MS),
    # large value
    ("52763797000ns", 52763797000),
    # more than 9 digits after decimal point, see https://golang.org/issue/6617
    ("0.3333333333333333333h", 20 * MINUTE),
    # 9007199254740993 = 1<<53+1 cannot be stored precisely in a float64
    ("9007199254740993ns", (1 << 53) + 1),
    # largest duration that can be represented by int64 in nanoseconds
    ("9223372036854775807ns", (1 << 63) - 1), ("9223372036854775.807us", (1 << 63) - 1),
    ("9223372036s854ms775us807ns", (1 << 63) - 1), ("-9223372036854775808ns", -1 << 63),
    ("-9223372036854775.808us", -1 << 63), ("-9223372036s854ms775us808ns", -1 << 63),
    # largest negative value
    ("-9223372036854775808ns", -1 << 63),
    # largest negative round trip value, see https://golang.org/issue/48629
    ("-2562047h47m16.854775808s", -1 << 63),
    # huge string; issue 15011.
    ("0.100000000000000000000h", 6 * MINUTE),
    # This value tests the first overflow check in leadingFraction.
    ("0.830103483285477580700h", 49 * MINUTE + 48 * SECOND + 372539827),
]


@pytest.mark.parametrize("text, nanos", PARSE_DURATION_TESTS)
def test_parse_duration(text, nanos):
    assert parse_duration(text) == Fraction(nanos, NS)


@pytest.mark.parametrize("text", [
    # invalid
    "", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "\x85\x85", "\xffff", "hello \xffff world",
    "\ufffd", "\ufffd hello \ufffd world",
    # overflow
    "9223372036854775810ns", "9223372036854775808ns", "-9223372036854775809ns",
    "9223372036854776us", "3000000h", "9223372036854775.808us", "9223372036854ms775us808ns",
    # more
    "x", "1.2.3s", "1 s", " 1s", "1s ", "1S", "1_000s", "\u0661s", "00",
])
def test_parse_duration_errors(text):
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    assert isinstance(info.value, ValueError)
    assert info.value.message.startswith(f"expected a duration like 30s or 5m, got {text!r}")


def test_duration_error_words():
    with pytest.raises(DurationError) as info:
        parse_duration("x")
    assert str(info.value) == "expected a duration like 30s or 5m, got 'x'"
    with pytest.raises(DurationError) as info:
        parse_duration("1d")
    assert "unknown unit 'd'" in info.value.message
    with pytest.raises(DurationError):
        parse_duration(30)


@pytest.mark.parametrize("text, nanos", [
    ("300ms", 300 * MS), ("-1.5h", -90 * MINUTE), ("2h45m", 165 * MINUTE),
    ("1h30m10s", HOUR + 30 * MINUTE + 10 * SECOND), ("10us", 10 * US), ("10µs", 10 * US),
    ("5ns", 5), ("0", 0),
])
def test_parse_duration_examples(text, nanos):
    assert parse_duration(text) == Fraction(nanos, NS)


# Go's durationTests (TestDurationString)
@pytest.mark.parametrize("text, nanos", [
    ("0s", 0), ("1ns", 1), ("1.1µs", 1100), ("2.2ms", 2200 * US), ("3.3s", 3300 * MS),
    ("4m5s", 4 * MINUTE + 5 * SECOND), ("4m5.001s", 4 * MINUTE + 5001 * MS),
    ("5h6m7.001s", 5 * HOUR + 6 * MINUTE + 7001 * MS), ("8m0.000000001s", 8 * MINUTE + 1),
    ("2562047h47m16.854775807s", (1 << 63) - 1), ("-2562047h47m16.854775808s", -1 << 63),
])
def test_go_duration_string(text, nanos):
    assert go_duration_string(Fraction(nanos, NS)) == text
    if nanos > 0:
        assert go_duration_string(Fraction(-nanos, NS)) == "-" + text
    assert parse_duration(text) == Fraction(nanos, NS)


@pytest.mark.parametrize("seconds, text", [
    (90, "1m30s"), (3600, "1h"), (0.25, "250ms"), (0, "0s"), (1.5, "1500ms"), (5400, "1h30m"),
    (3661, "1h1m1s"), (61.5, "1m1500ms"), (Fraction(3600001, 1000), "1h1ms"), (0.1, "100ms"),
    (Decimal("0.0000015"), "1500ns"), (Fraction(1, 10**6), "1us"), (-90, "-1m30s"), (86400, "24h"),
    (Fraction(-(1 << 63), NS), "-2562047h47m16854775808ns"),
])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
    expected = Fraction(repr(seconds)) if isinstance(seconds, float) else Fraction(seconds)
    assert parse_duration(text) == expected


@pytest.mark.parametrize("seconds", [Fraction(1, 10**10), 2**63, Fraction(-(1 << 63) - 1, NS),
                                     float("inf"), float("nan"), Decimal("NaN")])
def test_format_duration_rejects_unrepresentable(seconds):
    with pytest.raises(DurationError):
        format_duration(seconds)
    with pytest.raises(DurationError):
        go_duration_string(seconds)


@pytest.mark.parametrize("seconds", ["1s", None, True])
def test_format_duration_rejects_non_numbers(seconds):
    with pytest.raises(TypeError):
        format_duration(seconds)


int64_nanos = st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)


@given(int64_nanos)
def test_format_duration_round_trip(nanos):
    seconds = Fraction(nanos, NS)
    assert parse_duration(format_duration(seconds)) == seconds


@given(int64_nanos)
def test_go_duration_string_round_trip(nanos):
    # TestParseDurationRoundTrip, for every int64 rather than 100 random milliseconds.
    seconds = Fraction(nanos, NS)
    assert parse_duration(go_duration_string(seconds)) == seconds


# --- intstr ----------------------------------------------------------------------------

# TestGetIntFromIntOrPercent
@pytest.mark.parametrize("value, total, round_up, expect", [
    (123, 0, False, 123), ("90%", 100, True, 90), ("90%", 95, True, 86), ("90%", 95, False, 85),
    ("%", 0, False, None), ("90#", 0, False, None), ("#%", 0, False, None), ("90", 0, False, None),
])
def test_get_int_from_int_or_percent(value, total, round_up, expect):
    if expect is None:
        with pytest.raises(IntOrPercentError):
            scaled_value_from_int_or_percent(value, total, round_up)
    else:
        assert scaled_value_from_int_or_percent(value, total, round_up) == expect


# TestGetIntFromIntOrString (getIntOrPercentValueSafely), observed through a total of 100
@pytest.mark.parametrize("value, expect", [
    (200, 200), ("200", None), ("30%0", None), ("40%", 40), ("%", None), ("a%", None),
    ("a", None), ("40#", None), ("40%%", None),
])
def test_get_int_from_int_or_string(value, expect):
    if expect is None:
        with pytest.raises(IntOrPercentError):
            scaled_value_from_int_or_percent(value, 100, False)
    else:
        assert scaled_value_from_int_or_percent(value, 100, False) == expect


def test_get_value_from_int_or_percent_nil():
    with pytest.raises(IntOrPercentError):
        scaled_value_from_int_or_percent(None, 0, False)


@pytest.mark.parametrize("value, total, round_up, expect", [
    ("25%", 10, True, 3), ("25%", 10, False, 2), ("0%", 10, True, 0), ("100%", 7, False, 7),
    ("33%", 3, True, 1), ("33%", 3, False, 0), ("-10%", 15, True, -1), ("-10%", 15, False, -2),
    ("+50%", 5, True, 3), ("1%", 0, True, 0), ("3000000000%", 2, False, 60000000),
])
def test_scaled_value_rounding(value, total, round_up, expect):
    assert scaled_value_from_int_or_percent(value, total, round_up) == expect


# TestParse (intstr.Parse): int32 digit strings become ints. Kubernetes keeps an out-of-range
# digit string as a string, which GetScaledValueFromIntOrPercent then rejects; we reject it at once.
@pytest.mark.parametrize("text, expect", [
    ("0", 0), ("2147483647", 2147483647), ("-2147483648", -2147483648), ("2147483648", None),
    ("-2147483649", None), ("9223372036854775807", None), ("-9223372036854775808", None),
    ("9223372036854775808", None), ("-9223372036854775809", None),
])
def test_intstr_parse(text, expect):
    if expect is None:
        with pytest.raises(IntOrPercentError):
            parse_int_or_percent(text)
    else:
        assert parse_int_or_percent(text) == expect and type(parse_int_or_percent(text)) is int


@pytest.mark.parametrize("value, expect", [
    (3, 3), (-1, -1), ("3", 3), ("+3", 3), ("007", 7), ("25%", "25%"), ("0%", "0%"), ("-5%", "-5%"),
    ("150%", "150%"),
])
def test_parse_int_or_percent(value, expect):
    assert parse_int_or_percent(value) == expect


@pytest.mark.parametrize("value", [
    "abc", "1.5", "25 %", " 25%", "25% ", "%", "25%%", "1_000", "\u0661", "0x10", "", "1.5%",
    True, 1.5, None, 2**31, -(2**31) - 1, ["25%"],
])
def test_parse_int_or_percent_errors(value):
    with pytest.raises(IntOrPercentError) as info:
        parse_int_or_percent(value)
    assert isinstance(info.value, ValueError)
    assert info.value.message.startswith("expected an integer or a percentage like 25%, got ")


# --- the module's own examples -------------------------------------------------------------

def test_doctests():
    result = doctest.testmod(quantity_module)
    assert result.attempted > 10 and result.failed == 0


def test_public_api():
    assert set(quantity_module.__all__) == {
        "BINARY_SI", "DECIMAL_SI", "DECIMAL_EXPONENT", "QuantityError", "Quantity",
        "parse_quantity", "is_quantity", "DurationError", "parse_duration", "format_duration",
        "go_duration_string", "human_duration", "IntOrPercentError", "parse_int_or_percent",
        "scaled_value_from_int_or_percent",
    }
