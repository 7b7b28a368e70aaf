"""Tests of reconcile.api.labels, ported from Kubernetes' own test tables.

Sources (k8s.io/apimachinery): pkg/labels/selector_test.go,
pkg/util/validation/validation_test.go, pkg/apis/meta/v1/helpers_test.go.
Test names keep the Go test they come from.
"""

import copy
import doctest
import pickle

import pytest

from reconcile.api import labels
from reconcile.api.labels import (
    EVERYTHING, NOTHING, Requirement, Selector, SelectorSyntaxError, from_label_selector,
    from_set, parse, to_label_selector, validate_dns1123_label, validate_dns1123_subdomain,
    validate_label_key, validate_label_value,
)


def req(key, op, values=()):
    return Requirement(key, op, values)


def sel(*reqs):
    return Selector(reqs)


# ------------------------------------------------------------ TestSelectorParse

@pytest.mark.parametrize("text", [
    "x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1", "x>1,z<5",
])
def test_selector_parse_good(text):
    assert str(parse(text)) == text.replace(" ", "")


@pytest.mark.parametrize("text", ["x=a||y=b", "x==a==b", "!x=a", "x<a"])
def test_selector_parse_bad(text):
    with pytest.raises(SelectorSyntaxError):
        parse(text)


def test_deterministic_parse():
    assert str(parse("x=a,a=x")) == str(parse("a=x,x=a")) == "a=x,x=a"
    assert parse("x=a,a=x") == parse("a=x,x=a")


def test_everything():
    assert EVERYTHING.matches({"x": "y"})
    assert EVERYTHING.is_empty()
    assert parse("") is EVERYTHING


# --------------------------------------------------------- TestSelectorMatches

@pytest.mark.parametrize("text, labels_, want", [
    ("", {"x": "y"}, True),
    ("x=y", {"x": "y"}, True),
    ("x=y,z=w", {"x": "y", "z": "w"}, True),
    ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
    ("notin=in", {"notin": "in"}, True),  # in and notin in exactMatch
    ("x", {"x": "z"}, True),
    ("!x", {"y": "z"}, True),
    ("x>1", {"x": "2"}, True),
    ("x<1", {"x": "0"}, True),
    ("x=z", {}, False),
    ("x=y", {"x": "z"}, False),
    ("x=y,z=w", {"x": "w", "z": "w"}, False),
    ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
    ("x", {"y": "z"}, False),
    ("!x", {"x": "z"}, False),
    ("x>1", {"x": "0"}, False),
    ("x<1", {"x": "2"}, False),
    ("foo=bar", {"foo": "bar", "baz": "blah"}, True),
    ("baz=blah", {"foo": "bar", "baz": "blah"}, True),
    ("foo=bar,baz=blah", {"foo": "bar", "baz": "blah"}, True),
    ("foo=blah", {"foo": "bar", "baz": "blah"}, False),
    ("baz=bar", {"foo": "bar", "baz": "blah"}, False),
    ("foo=bar,foobar=bar,baz=blah", {"foo": "bar", "baz": "blah"}, False),
])
def test_selector_matches(text, labels_, want):
    assert parse(text).matches(labels_) is want


@pytest.mark.parametrize("text, labels_, want", [
    # every operator, present / absent / other value
    ("x=a", {"x": "a"}, True), ("x=a", {"x": "b"}, False), ("x=a", {}, False),
    ("x==a", {"x": "a"}, True), ("x==a", {}, False),
    ("x!=a", {"x": "a"}, False), ("x!=a", {"x": "b"}, True), ("x!=a", {}, True),
    ("x in (a,b)", {"x": "b"}, True), ("x in (a,b)", {"x": "c"}, False), ("x in (a,b)", {}, False),
    ("x notin (a,b)", {"x": "b"}, False), ("x notin (a,b)", {"x": "c"}, True),
    ("x notin (a,b)", {}, True), ("x notin (a)", {}, True), ("x notin (a)", {"x": "a"}, False),
    ("x", {"x": ""}, True), ("x", {}, False), ("!x", {"x": ""}, False), ("!x", {}, True),
    ("x in ()", {"x": ""}, True), ("x in ()", {}, False), ("x=", {"x": ""}, True),
    ("x>1", {}, False), ("x<1", {}, False),
    ("x>1", {"x": "v2"}, False), ("x<9", {"x": "1.5"}, False), ("x<9", {"x": ""}, False),
    ("x>1", {"x": "+2"}, True), ("x<0", {"x": "-1"}, True), ("x>6", {"x": "007"}, True),
    ("x>1", {"x": "0x10"}, False), ("x>1", {"x": "1_0"}, False), ("x>1", {"x": " 2"}, False),
    ("x>1", {"x": "\uff12"}, False),  # a non-ASCII digit is no integer for Go
    ("x>1", {"x": "9223372036854775807"}, True),
    ("x>1", {"x": "9223372036854775808"}, False),  # out of int64: ParseInt fails
    ("x<1", {"x": "-9223372036854775808"}, True),
    ("x<1", {"x": "-9223372036854775809"}, False),
    ("x>1", {"x": "1"}, False), ("x<1", {"x": "1"}, False),
    ("a=1,b in (x,y),c notin (z),d,!e,f>3,g<5,h!=q",
     {"a": "1", "b": "y", "d": "", "f": "4", "g": "-3"}, True),
    ("a=1,b in (x,y),c notin (z),d,!e,f>3,g<5,h!=q",
     {"a": "1", "b": "y", "d": "", "f": "4", "g": "-3", "h": "q"}, False),
])
def test_operator_semantics(text, labels_, want):
    s = parse(text)
    assert s.matches(labels_) is want
    assert all(r.matches(labels_) for r in s.requirements) is want


def test_set_matches():  # TestSetMatches
    labelset = {"foo": "bar", "baz": "blah"}
    for s in ({}, {"foo": "bar"}, {"baz": "blah"}, {"foo": "bar", "baz": "blah"}):
        assert from_set(s).matches(labelset)
    assert not from_set({"foo": "blah"}).matches(labelset)
    assert not from_set({"foo": "bar", "foobar": "bar"}).matches(labelset)


def test_nil_map_is_valid_and_set_is_empty():  # TestNilMapIsValid, TestSetIsEmpty
    assert from_set(None).is_empty()
    assert from_set({}).is_empty()
    assert Selector().is_empty()
    assert not parse("x").is_empty()
    assert not NOTHING.is_empty()


def test_validated_selector_from_set():  # TestValidatedSelectorFromSet
    assert from_set({"key": "val"}) == sel(req("key", "=", ["val"]))
    value = "axahm2EJ8Phiephe2eixohbee9eGeiyees1thuozi1xoh0GiuH3diewi8iem7Nui"
    with pytest.raises(SelectorSyntaxError) as e:
        from_set({"Key": value})
    assert e.value.message == f'values[0][Key]: Invalid value: "{value}": must be no more than 63 characters'
    with pytest.raises(SelectorSyntaxError, match="name part"):
        from_set({"-bad": "v"})


# ------------------------------------------------ TestLexer, TestLexerSequence

@pytest.mark.parametrize("text, token", [
    ("", "EndOfString"), (",", "Comma"), ("notin", "NotIn"), ("in", "In"), ("=", "Equals"),
    ("==", "DoubleEquals"), (">", "GreaterThan"), ("<", "LessThan"),
    ("!", "DoesNotExist"), ("!=", "NotEquals"),  # Lex returns the longest valid token
    ("(", "OpenPar"), (")", "ClosedPar"),
    ("~", "Identifier"), ("||", "Identifier"),  # non-special characters form identifiers
])
def test_lexer(text, token):
    assert labels._lex(text)[0][:2] == (token, text)


LEXER_SEQUENCES = [
    ("key in ( value )", ["Identifier", "In", "OpenPar", "Identifier", "ClosedPar"]),
    ("key notin ( value )", ["Identifier", "NotIn", "OpenPar", "Identifier", "ClosedPar"]),
    ("key in ( value1, value2 )",
     ["Identifier", "In", "OpenPar", "Identifier", "Comma", "Identifier", "ClosedPar"]),
    ("key", ["Identifier"]),
    ("!key", ["DoesNotExist", "Identifier"]),
    ("()", ["OpenPar", "ClosedPar"]),
    ("", []),
    ("x in (),y", ["Identifier", "In", "OpenPar", "ClosedPar", "Comma", "Identifier"]),
    ("== != (), = notin",
     ["DoubleEquals", "NotEquals", "OpenPar", "ClosedPar", "Comma", "Equals", "NotIn"]),
    ("key>2", ["Identifier", "GreaterThan", "Identifier"]),
    ("key<1", ["Identifier", "LessThan", "Identifier"]),
    # maximal munch on symbols: only != and == are two characters long
    ("!==>=<>!!", ["NotEquals", "Equals", "GreaterThan", "Equals", "LessThan", "GreaterThan",
                   "DoesNotExist", "DoesNotExist"]),
]


@pytest.mark.parametrize("text, tokens", LEXER_SEQUENCES)
def test_lexer_sequence_and_parser_lookahead(text, tokens):  # TestLexerSequence, TestParserLookahead
    lexed = labels._lex(text)
    assert [t for t, _, _ in lexed] == tokens + ["EndOfString"]
    for tok, lit, pos in lexed[:-1]:
        assert text[pos:pos + len(lit)] == lit
    assert lexed[-1] == ("EndOfString", "", len(text))


def test_lexer_whitespace_is_only_space_tab_cr_lf():
    assert [lit for _, lit, _ in labels._lex(" a\tb\rc\nd\ve\ff ")] == ["a", "b", "c", "d\ve\ff", ""]
    assert [lit for _, lit, _ in labels._lex("\va \u00a0b")] == ["\va", "\u00a0b", ""]
    for text in ("\vx", "x=\fa", "\u00a0x"):  # other white space is part of an identifier: invalid
        with pytest.raises(SelectorSyntaxError):
            parse(text)


# -------------------------------------------------------------- TestParseOperator

@pytest.mark.parametrize("op, operator", [("in", "in"), ("=", "="), ("==", "=="), (">", "gt"), ("<", "lt"),
                                          ("notin", "notin"), ("!=", "!=")])
def test_parse_operator_good(op, operator):
    value = "(1)" if op in ("in", "notin") else "1"
    assert parse(f"x {op} {value}").requirements == (req("x", operator, ["1"]),)


@pytest.mark.parametrize("op", ["!", "exists", "("])
def test_parse_operator_bad(op):
    with pytest.raises(SelectorSyntaxError) as e:
        parse(f"x {op} 1")
    assert e.value.message == f"found '{op}', expected: in, notin, =, ==, !=, gt, lt"
    assert e.value.position == 2


# ------------------------------------------------------ TestRequirementConstructor

@pytest.mark.parametrize("key, op, values, error_field", [
    ("x1", "in", (), "values"),
    ("x2", "notin", (), "values"),
    ("x3", "in", ["foo"], None),
    ("x4", "notin", ["foo"], None),
    ("x5", "=", ["foo", "bar"], "values"),
    ("x6", "exists", (), None),
    ("x7", "!", (), None),
    ("x8", "exists", ["foo"], "values"),
    ("1foo", "in", ["bar"], None),
    ("1234", "in", ["bar"], None),
    ("x11", "gt", ["1"], None),
    ("x12", "lt", ["6"], None),
    ("x13", "gt", (), "values"),
    ("x14", "gt", ["bar"], "values[0]"),
    ("x15", "lt", ["bar"], "values[0]"),
    ("a" * 254, "exists", (), "key"),  # breaks DNS rule that len(key) <= 253
    ("x16", "=", ["a" * 254], "values[0][x16]"),
    ("x17", "=", ["a b"], "values[0][x17]"),
    ("x18", "unsupportedOp", (), "operator"),
    ("y", "gt", ["1"], None),
    ("z", "lt", ["6"], None),
    ("foo", "gt", ["bar"], "values[0]"),
    ("barz", "lt", ["blah"], "values[0]"),
    ("x", "!=", ["a", "b"], "values"),
    ("x", "gt", ["1", "2"], "values"),
    ("x", "gt", ["99999999999999999999"], "values[0]"),  # not an int64
    ("x", "in", [""], None),
    ("x", "=", [""], None),
])
def test_requirement_constructor(key, op, values, error_field):
    if error_field is None:
        assert req(key, op, values).key == key
    else:
        with pytest.raises(SelectorSyntaxError) as e:
            req(key, op, values)
        assert e.value.message.startswith(error_field + ": ")
        assert e.value.position == 0


def test_requirement_constructor_messages():
    cases = {
        ("x", "in", ()): "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
        ("x", "=", ("b", "a")): 'values: Invalid value: []string{"b", "a"}: exact-match compatibility requires one single value',
        ("x", "exists", ("qux", "norf")): 'values: Invalid value: []string{"qux", "norf"}: values set must be empty for exists and does not exist',
        ("x", "lt", ()): "values: Invalid value: []string{}: for 'Gt', 'Lt' operators, exactly one value is required",
        ("x", "gt", ("bar",)): "values[0]: Invalid value: \"bar\": for 'Gt', 'Lt' operators, the value must be an integer",
        ("x", "~", ()): 'operator: Unsupported value: "~": supported values: "in", "notin", "=", "==", "!=", "gt", "lt", "exists", "!"',
        ("x", "gt", ("a-",)): "[values[0]: Invalid value: \"a-\": for 'Gt', 'Lt' operators, the value must be an integer, "
                              + 'values[0][x]: Invalid value: "a-": ' + validate_label_value("a-")[0] + "]",
    }
    for (key, op, values), message in cases.items():
        with pytest.raises(SelectorSyntaxError) as e:
            req(key, op, values)
        assert e.value.message == message
        assert str(e.value) == message


def test_requirement_types():
    with pytest.raises(TypeError):
        req("x", "in", "ab")  # a str is not a list of values
    with pytest.raises(TypeError):
        req("x", "in", [1])


def test_requirement_values_sorted_and_deduplicated():  # cf. TestSafeSort
    r = req("x", "in", ["foo", "bar", "foo", "bar"])
    assert r.values == ("bar", "foo")
    assert r == req("x", "in", ("bar", "foo")) and hash(r) == hash(req("x", "in", ["foo", "bar"]))
    assert str(r) == "x in (bar,foo)"


def test_requirement_is_immutable_and_picklable():
    r = req("x", "in", ["a"])
    with pytest.raises(AttributeError):
        r.key = "y"
    assert pickle.loads(pickle.dumps(r)) == r
    assert copy.deepcopy(r).matches({"x": "a"})


# ------------------------------------------------------------------ TestToString

@pytest.mark.parametrize("reqs, out", [
    ([req("x", "in", ["abc", "def"]), req("y", "notin", ["jkl"]), req("z", "exists")],
     "x in (abc,def),y notin (jkl),z"),
    ([req("x", "notin", ["abc", "def"]), req("y", "!=", ["jkl"]), req("z", "!")],
     "x notin (abc,def),y!=jkl,!z"),
    ([req("x", "notin", ["abc"]), req("y", "in", ["jkl", "mno"]), req("z", "notin", [""])],
     "x notin (abc),y in (jkl,mno),z notin ()"),
    ([req("x", "=", ["abc"]), req("y", "==", ["jkl"]), req("z", "!=", ["a"]), req("z", "exists")],
     "x=abc,y==jkl,z!=a,z"),
    ([req("x", "gt", ["2"]), req("y", "lt", ["8"]), req("z", "exists")], "x>2,y<8,z"),
])
def test_to_string(reqs, out):
    s = Selector(reqs)
    assert str(s) == out
    assert parse(out) == s
    assert repr(s) == f"Selector({out!r})" and eval(repr(s), {"Selector": Selector}) == s


# ------------------------------------------------- TestRequirementSelectorMatching

@pytest.mark.parametrize("labels_, reqs, want", [
    ({"x": "foo", "y": "baz"}, [req("x", "in", ["foo"]), req("y", "notin", ["alpha"])], True),
    ({"x": "foo", "y": "baz"}, [req("x", "in", ["foo"]), req("y", "in", ["alpha"])], False),
    ({"y": ""}, [req("x", "notin", [""]), req("y", "exists")], True),
    ({"y": ""}, [req("x", "!"), req("y", "exists")], True),
    ({"y": ""}, [req("x", "notin", [""]), req("y", "!")], False),
    ({"y": "baz"}, [req("x", "in", [""])], False),
    ({"z": "2"}, [req("z", "gt", ["1"])], True),
    ({"z": "v2"}, [req("z", "gt", ["1"])], False),
])
def test_requirement_selector_matching(labels_, reqs, want):
    assert Selector(reqs).matches(labels_) is want


# ---------------------------------------------------------- TestSetSelectorParser

SET_SELECTOR_PARSER = [
    ("", [], True, True),
    ("\rx", [req("x", "exists")], True, True),
    ("this-is-a-dns.domain.com/key-with-dash",
     [req("this-is-a-dns.domain.com/key-with-dash", "exists")], True, True),
    ("this-is-another-dns.domain.com/key-with-dash in (so,what)",
     [req("this-is-another-dns.domain.com/key-with-dash", "in", ["so", "what"])], True, True),
    ("0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
     [req("0.1.2.domain/99", "notin", ["10.10.100.1", "tick.tack.clock"])], True, True),
    ("foo  in\t (abc)", [req("foo", "in", ["abc"])], True, True),
    ("x notin\n (abc)", [req("x", "notin", ["abc"])], True, True),
    ("x  notin\t\t\t(abc,def)", [req("x", "notin", ["abc", "def"])], True, True),
    ("x in (abc,def)", [req("x", "in", ["abc", "def"])], True, True),
    ("x in (abc,)", [req("x", "in", ["abc", ""])], True, True),
    ("x in ()", [req("x", "in", [""])], True, True),
    ("x notin (abc,,def),bar,z in (),w",
     [req("bar", "exists"), req("w", "exists"), req("x", "notin", ["abc", "", "def"]),
      req("z", "in", [""])], True, True),
    ("x,y in (a)", [req("y", "in", ["a"]), req("x", "exists")], False, True),
    ("x=a", [req("x", "=", ["a"])], True, True),
    ("x>1", [req("x", "gt", ["1"])], True, True),
    ("x<7", [req("x", "lt", ["7"])], True, True),
    ("x=a,y!=b", [req("x", "=", ["a"]), req("y", "!=", ["b"])], True, True),
    ("x=a,y!=b,z in (h,i,j)",
     [req("x", "=", ["a"]), req("y", "!=", ["b"]), req("z", "in", ["h", "i", "j"])], True, True),
    ("x=a||y=b", [], False, False),
    ("x,,y", None, True, False),
    (",x,y", None, True, False),
    ("x nott in (y)", None, True, False),
    ("x notin ( )", [req("x", "notin", [""])], True, True),
    ("x notin (, a)", [req("x", "notin", ["", "a"])], True, True),
    ("a in (xyz),", None, True, False),
    ("a in (xyz)b notin ()", None, True, False),
    ("a ", [req("a", "exists")], True, True),
    ("a in (x,y,notin, z,in)", [req("a", "in", ["in", "notin", "x", "y", "z"])], True, True),
    ("a in (xyz abc)", None, False, False),  # no comma
    ("a notin(", None, True, False),  # bad formed
    ("a (", None, False, False),  # cpar
    ("(", None, False, False),  # opar
]


@pytest.mark.parametrize("text, reqs, match, valid", SET_SELECTOR_PARSER)
def test_set_selector_parser(text, reqs, match, valid):
    if not valid:
        with pytest.raises(SelectorSyntaxError):
            parse(text)
        return
    # Go compares only when match is set ("x,y in (a)" lists y first); our Selector
    # sorts its requirements by key, so every valid case compares equal.
    assert parse(text) == Selector(reqs)


# --------------------------------------------------- error messages and positions

@pytest.mark.parametrize("text, message, position", [
    ("x==a==b", "found '==', expected: ',' or 'end of string'", 4),
    ("!x=a", "found '=', expected: ',' or 'end of string'", 2),  # ! before an operator
    ("!x in (a)", "found 'in', expected: ',' or 'end of string'", 3),
    ("!x>1", "found '>', expected: ',' or 'end of string'", 2),
    ("x<a", "values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer", 2),
    ("x>", "values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer", 2),
    ("x>1.5", "values[0]: Invalid value: \"1.5\": for 'Gt', 'Lt' operators, the value must be an integer", 2),
    ("x>1 ,y>z", "values[0]: Invalid value: \"z\": for 'Gt', 'Lt' operators, the value must be an integer", 7),
    ("x>99999999999999999999",
     "values[0]: Invalid value: \"99999999999999999999\": for 'Gt', 'Lt' operators, the value must be an integer", 2),
    ("x>-1", 'values[0][x]: Invalid value: "-1": ' + validate_label_value("-1")[0], 2),
    ("x=a||y=b", 'values[0][x]: Invalid value: "a||y": ' + validate_label_value("a||y")[0], 2),
    ("x in (b, -a)", 'values[0][x]: Invalid value: "-a": ' + validate_label_value("-a")[0], 9),
    ("x,,y", "found ',', expected: identifier after ','", 2),
    ("x,", "found '', expected: identifier after ','", 2),
    ("x, )", "found ')', expected: identifier after ','", 3),
    (",x,y", "found ',', expected: !, identifier, or 'end of string'", 0),
    (")", "found ')', expected: !, identifier, or 'end of string'", 0),
    ("(", "found '(', expected: !, identifier, or 'end of string'", 0),
    ("x nott in (y)", "found 'nott', expected: in, notin, =, ==, !=, gt, lt", 2),
    ("a (", "found '(', expected: in, notin, =, ==, !=, gt, lt", 2),
    ("x)", "found ')', expected: in, notin, =, ==, !=, gt, lt", 1),
    ("x!", "found '!', expected: in, notin, =, ==, !=, gt, lt", 1),
    ("a in (xyz),", "found '', expected: identifier after ','", 11),
    ("a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'", 10),
    ("a in (xyz abc)", "found 'abc', expected: ',' or ')'", 10),
    ("x in (a,b", "found '', expected: ',' or ')'", 9),
    ("a notin(", "found '', expected: ',', ')' or identifier", 8),
    ("a in (=)", "found '=', expected: ',', ')' or identifier", 6),
    ("x in (a,(", "found '(', expected: ',', or identifier", 8),
    ("x in (a,", "found '', expected: ',', or identifier", 8),
    ("x in a", "found 'a' expected: '('", 5),
    ("x in", "found '' expected: '('", 4),
    ("x=(", "found '(', expected: identifier", 2),
    ("x==!", "found '!', expected: identifier", 3),
    ("x=a)", "found ')', expected: ',' or 'end of string'", 3),
    ("x=a and y=b", "found 'and', expected: ',' or 'end of string'", 4),
    ("!", "found '', expected: identifier", 1),
    ("!!x", "found '!', expected: identifier", 1),
    ("!,x", "found ',', expected: identifier", 1),
    ("-x=1", 'Invalid value: "-x": ' + "; ".join(validate_label_key("-x")), 0),
    ("a, b/c/d", 'Invalid value: "b/c/d": ' + validate_label_key("b/c/d")[0], 3),
    ("a,  x~y", 'Invalid value: "x~y": ' + validate_label_key("x~y")[0], 4),
])
def test_parse_errors(text, message, position):
    with pytest.raises(SelectorSyntaxError) as e:
        parse(text)
    assert (e.value.message, e.value.position, e.value.text) == (message, position, text)
    assert isinstance(e.value, ValueError)
    assert message in str(e.value) and str(position) in str(e.value)


@pytest.mark.parametrize("text, out", [
    ("in", "in"), ("notin", "notin"), ("!in", "!in"), ("in=notin", "in=notin"),
    ("x=in", "x=in"), ("x notin (in,notin)", "x notin (in,notin)"),
    ("x == a", "x==a"), ("  x  ", "x"), ("\t!x\n", "!x"), ("x in (a,a,a)", "x in (a)"),
    ("x in (,,,a)", "x in (,a)"), ("x in (a,,,)", "x in (,a)"), ("x in (,)", "x in ()"),
    ("x=a,x!=b,x", "x=a,x!=b,x"),  # same key kept, in input order (stable sort)
    ("b,a,c=1", "a,b,c=1"),
    ("x>0,y<-0", None), ("x>+1", None),  # "+1" is an integer but not a label value
    ("x>007", "x>007"), ("x<9223372036854775807", "x<9223372036854775807"),
])
def test_parse_round_trip(text, out):
    if out is None:
        with pytest.raises(SelectorSyntaxError):
            parse(text)
        return
    s = parse(text)
    assert str(s) == out
    assert parse(out) == s


# ------------------------------------------------------------------ the "and" form

@pytest.mark.parametrize("text, same_as", [
    ("app=web and tier in (a, b)", "app=web,tier in (a,b)"),
    ("x and y", "x,y"),
    ("x and !y", "x,!y"),
    ("!x and y", "!x,y"),
    ("x in (a) and y notin (b) and z>1", "x in (a),y notin (b),z>1"),
    ("x=a, y=b and z=c", "x=a,y=b,z=c"),
    ("and", "and"),  # a key named "and" stays legal
    ("!and", "!and"),
    ("x,and", "x,and"),
    ("x and and", "x,and"),
    ("and and and", "and,and"),
    ("x=and", "x=and"),  # in value position it is a value
    ("x = and", "x=and"),
    ("x in (and)", "x in (and)"),
    ("and=and and and in (and)", "and=and,and in (and)"),
    ("x and y=and and z", "x,y=and,z"),
])
def test_and_form(text, same_as):
    assert parse(text, allow_and=True) == parse(same_as)


@pytest.mark.parametrize("text, message, position", [
    ("x and", "found '', expected: identifier after 'and'", 5),
    ("x and, y", "found ',', expected: identifier after 'and'", 5),
    ("x, and y", "found 'y', expected: in, notin, =, ==, !=, gt, lt", 7),
    ("x AND y", "found 'AND', expected: in, notin, =, ==, !=, gt, lt", 2),
    ("x=a b", "found 'b', expected: ',' or 'and' or 'end of string'", 4),
    ("and and", "found '', expected: identifier after 'and'", 7),
])
def test_and_form_errors(text, message, position):
    with pytest.raises(SelectorSyntaxError) as e:
        parse(text, allow_and=True)
    assert (e.value.message, e.value.position) == (message, position)


@pytest.mark.parametrize("text, message, position", [
    ("app=web and tier in (a, b)", "found 'and', expected: ',' or 'end of string'", 8),
    ("x and y", "found 'and', expected: in, notin, =, ==, !=, gt, lt", 2),
    ("!x and y", "found 'and', expected: ',' or 'end of string'", 3),
])
def test_and_is_an_error_without_allow_and(text, message, position):
    with pytest.raises(SelectorSyntaxError) as e:
        parse(text)
    assert (e.value.message, e.value.position) == (message, position)


def test_and_alone_is_a_key_without_allow_and():
    assert parse("and") == Selector([req("and", "exists")])


# --------------------------------------------------------------- Selector object

def test_selector_equality_hash_and_immutability():
    a, b = parse("x=1,y in (b,a)"), parse("y in (a,b), x=1")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != parse("x=1") and a != "x=1,y in (a,b)"
    assert NOTHING != EVERYTHING and hash(NOTHING) != hash(EVERYTHING)
    with pytest.raises(AttributeError):
        a.requirements = ()
    with pytest.raises(AttributeError):
        del a.requirements
    assert a.requirements == (req("x", "=", ["1"]), req("y", "in", ["a", "b"]))


def test_selector_from_text_and_types():
    assert Selector("x=1") == parse("x=1")
    with pytest.raises(TypeError):
        Selector(["x=1"])
    with pytest.raises(TypeError):
        parse(None)


def test_nothing():
    assert not NOTHING.matches({}) and not NOTHING.matches({"x": "y"})
    assert str(NOTHING) == "" and repr(NOTHING) == "NOTHING"
    assert NOTHING.add(req("x", "exists")) is NOTHING
    assert pickle.loads(pickle.dumps(NOTHING)) is NOTHING
    assert copy.deepcopy(NOTHING) is NOTHING


def test_selector_pickle_and_copy():
    s = parse("a=1,b notin (x),c>2")
    assert pickle.loads(pickle.dumps(s)) == s
    assert copy.deepcopy(s).matches({"a": "1", "c": "3"})


def test_add():  # TestAdd
    assert Selector().add(req("key", "in", ["value"])) == sel(req("key", "in", ["value"]))
    s = sel(req("key", "in", ["value"])).add(req("key2", "=", ["value2"]))
    assert s.requirements == (req("key", "in", ["value"]), req("key2", "=", ["value2"]))
    assert sel(req("b", "exists")).add(req("a", "exists")).requirements[0].key == "a"


@pytest.mark.parametrize("reqs, key, want", [  # TestRequiresExactMatch
    ([req("key", "in", ["value"])], "key", "value"),
    ([req("key", "in", ["value", "value2"])], "key", None),
    ([req("key", "in", ["value", "value1"]), req("key2", "in", ["value2"])], "key2", "value2"),
    ([req("key", "=", ["value"])], "key", "value"),
    ([req("key", "==", ["value"])], "key", "value"),
    ([req("key", "!=", ["value"])], "key", None),
    ([req("key", "in", ["value"]), req("key2", "in", ["value2"])], "key", "value"),
    ([req("key", "in", ["value"])], "other", None),
])
def test_requires_exact_match(reqs, key, want):
    assert Selector(reqs).requires_exact_match(key) == want


@pytest.mark.parametrize("text", ["", "a=1", "a=1,b=2,c=3", "a in (1)", "a=1,b in (1)",
                                  "a in (1,2)", "a,b", "a notin (1)", "a!=1,b=2", "a>1,b<5,c=1"])
def test_compiled_match_paths_agree_with_requirements(text):
    s = parse(text)
    samples = [{}, {"a": "1"}, {"a": "1", "b": "2"}, {"a": "1", "b": "2", "c": "3"}, {"a": "2"},
               {"a": "1", "b": "1", "c": "1"}, {"b": "2"}, {"a": "3", "b": "4", "c": "1"}]
    for labels_ in samples:
        assert s.matches(labels_) is all(r.matches(labels_) for r in s.requirements)


# ---------------------------------------------------------- LabelSelectorAsSelector

def test_label_selector_as_selector():  # TestLabelSelectorAsSelector
    match_labels = {"foo": "bar"}
    exprs = [{"key": "baz", "operator": "In", "values": ["qux", "norf"]}]
    assert from_label_selector(None) is NOTHING
    assert from_label_selector({}) is EVERYTHING
    assert from_label_selector(None, None) is EVERYTHING
    assert from_label_selector({}, []) is EVERYTHING
    assert from_label_selector(match_labels) == parse("foo=bar")
    assert from_label_selector(None, exprs) == parse("baz in (norf,qux)")
    assert from_label_selector(match_labels, exprs) == parse("baz in (norf,qux),foo=bar")
    assert str(from_label_selector(match_labels, exprs)) == "baz in (norf,qux),foo=bar"
    assert exprs == [{"key": "baz", "operator": "In", "values": ["qux", "norf"]}]  # not modified
    with pytest.raises(SelectorSyntaxError) as e:
        from_label_selector(None, [{"key": "baz", "operator": "Exists", "values": ["qux", "norf"]}])
    assert e.value.message == ('values: Invalid value: []string{"qux", "norf"}: '
                               "values set must be empty for exists and does not exist")
    assert e.value.position == 0


@pytest.mark.parametrize("exprs, message", [
    ([{"key": "a", "operator": "In", "values": []}], "for 'in', 'notin' operators, values set can't be empty"),
    ([{"key": "a", "operator": "NotIn"}], "for 'in', 'notin' operators, values set can't be empty"),
    ([{"key": "a", "operator": "DoesNotExist", "values": ["x"]}], "values set must be empty"),
    ([{"key": "a", "operator": "Gt", "values": ["1"]}], '"Gt" is not a valid pod selector operator'),
    ([{"key": "a", "operator": "in", "values": ["1"]}], '"in" is not a valid pod selector operator'),
    ([{"key": "a"}], '"" is not a valid pod selector operator'),
    ([{"key": "-a", "operator": "Exists"}], 'key: Invalid value: "-a": name part'),
    ([{"operator": "Exists"}], 'key: Invalid value: "": name part must be non-empty'),
    ([{"key": "a", "operator": "In", "values": ["a b"]}], 'values[0][a]: Invalid value: "a b"'),
])
def test_label_selector_as_selector_errors(exprs, message):
    with pytest.raises(SelectorSyntaxError) as e:
        from_label_selector(None, exprs)
    assert message in e.value.message


def test_label_selector_bad_match_labels():
    with pytest.raises(SelectorSyntaxError, match="must be no more than 63 characters"):
        from_label_selector({"a": "b" * 64})
    with pytest.raises(TypeError):  # a whole LabelSelector passed as matchLabels
        from_label_selector({"matchLabels": {"app": "web"}})


def test_label_selector_exists_and_does_not_exist():
    s = from_label_selector({}, [{"key": "a", "operator": "Exists"},
                                 {"key": "b", "operator": "DoesNotExist", "values": []},
                                 {"key": "c", "operator": "NotIn", "values": ["x", "y"]}])
    assert s == parse("a,!b,c notin (x,y)")


# ------------------------------------------------------------ to_label_selector

@pytest.mark.parametrize("text, want", [
    ("", {}),
    ("a=b", {"matchLabels": {"a": "b"}}),
    ("a==b", {"matchLabels": {"a": "b"}}),
    ("a=b,c in (y,x),d notin (z),e,!f",
     {"matchLabels": {"a": "b"},
      "matchExpressions": [{"key": "c", "operator": "In", "values": ["x", "y"]},
                           {"key": "d", "operator": "NotIn", "values": ["z"]},
                           {"key": "e", "operator": "Exists"},
                           {"key": "f", "operator": "DoesNotExist"}]}),
    ("a!=b", {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["b"]}]}),
    ("a=b,a=c", {"matchLabels": {"a": "b"},
                 "matchExpressions": [{"key": "a", "operator": "In", "values": ["c"]}]}),
    ("a in ()", {"matchExpressions": [{"key": "a", "operator": "In", "values": [""]}]}),
])
def test_to_label_selector(text, want):
    assert to_label_selector(parse(text)) == want


@pytest.mark.parametrize("text", ["a>1", "a=b,c<2"])
def test_to_label_selector_rejects_gt_lt(text):
    with pytest.raises(ValueError):
        to_label_selector(parse(text))


def test_to_label_selector_of_nothing():
    assert to_label_selector(NOTHING) is None
    assert from_label_selector(to_label_selector(NOTHING)) is NOTHING


ROUND_TRIP = ["", "a=b", "a=b,c in (x,y),d notin (z),e,!f", "x in (,a),y", "a=b,a=c",
              "k8s.io/app=web,tier notin (db,cache)", "a!=b", "a==b,b!=c"]
SAMPLES = [{}, {"a": "b"}, {"a": "c"}, {"a": "b", "e": "", "c": "x"}, {"f": "1"},
           {"k8s.io/app": "web", "tier": "db"}, {"k8s.io/app": "web"}, {"x": ""}, {"x": "a", "y": "b"},
           {"a": "b", "b": "c"}, {"a": "b", "b": "d"}]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_label_selector_round_trip(text):
    s = parse(text)
    d = to_label_selector(s)
    back = from_label_selector(d.get("matchLabels", {}), d.get("matchExpressions", []))
    if text not in ("a=b,a=c", "a!=b", "a==b,b!=c"):  # these come back as In / NotIn / =
        assert back == s
    for labels_ in SAMPLES:
        assert back.matches(labels_) is s.matches(labels_)
    assert to_label_selector(back) == d


# ----------------------------------------------------------------- validation.go

QUALIFIED_GOOD = ["simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple",
                  "now-with-dashes/simple", "now-with-dashes/now-with-dashes", "now.with.dots/simple",
                  "now-with.dashes-and.dots/simple", "1-num.2-num/3-num", "1234/5678", "1.2.3.4/5678",
                  "Uppercase_Is_OK_123", "example.com/Uppercase_Is_OK_123", "requests.storage-foo",
                  "a" * 63, "a" * 253 + "/" + "b" * 63]
QUALIFIED_BAD = ["nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-", "only/one/slash",
                 "Example.com/abc", "example_com/abc", "example.com/", "/simple", "a" * 64,
                 "a" * 254 + "/abc"]


@pytest.mark.parametrize("key", QUALIFIED_GOOD)
def test_is_qualified_name_good(key):
    assert validate_label_key(key) == []
    assert parse(key) == Selector([req(key, "exists")])


@pytest.mark.parametrize("key", QUALIFIED_BAD)
def test_is_qualified_name_bad(key):
    assert validate_label_key(key) != []
    with pytest.raises(SelectorSyntaxError):
        parse(key)


def test_is_qualified_name_messages():
    name_re = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
               "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
               "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
    assert validate_label_key("a" * 64) == ["name part must be no more than 63 characters"]
    assert validate_label_key("-a") == ["name part " + name_re]
    assert validate_label_key("") == ["name part must be non-empty", "name part " + name_re]
    assert validate_label_key("/a") == ["prefix part must be non-empty"]
    assert validate_label_key("a/b/c") == [
        "a qualified name " + name_re + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    assert validate_label_key("Example.com/abc") == ["prefix part " + validate_dns1123_subdomain("Example.com")[0]]
    assert validate_label_key("a" * 254 + "/abc") == [
        "prefix part must be no more than 253 characters"]
    assert validate_label_key("é") == ["name part " + name_re]


LABEL_VALUE_GOOD = ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", "a" * 63, ""]
LABEL_VALUE_BAD = ["nospecialchars%^=@", "Tama-nui-te-rā.is.Māori.sun", "\\backslashes\\are\\bad",
                   "-starts-with-dash", "ends-with-dash-", ".starts.with.dot", "ends.with.dot.", "a" * 64]


@pytest.mark.parametrize("value", LABEL_VALUE_GOOD)
def test_is_valid_label_value_good(value):
    assert validate_label_value(value) == []
    assert parse(f"x={value}").matches({"x": value})


@pytest.mark.parametrize("value", LABEL_VALUE_BAD)
def test_is_valid_label_value_bad(value):
    assert validate_label_value(value) != []


def test_is_valid_label_value_messages():
    regex_msg = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  "
                 "or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
    assert validate_label_value("-a") == [regex_msg]
    assert validate_label_value("a" * 64) == ["must be no more than 63 characters"]
    assert validate_label_value("-" * 64) == ["must be no more than 63 characters", regex_msg]
    assert validate_label_value("é" * 32) == ["must be no more than 63 characters", regex_msg]  # 64 bytes
    assert validate_label_value("a\n") == [regex_msg]  # no match before a trailing newline


DNS_LABEL_GOOD = ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2",
                  "a" * 63]
DNS_LABEL_BAD = ["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1",
                 "_", "a_", "_a", "a_b", "1_", "_1", "1_2", ".", "a.", ".a", "a.b", "1.", ".1", "1.2",
                 " ", "a ", " a", "a b", "1 ", " 1", "1 2", "a" * 64]


@pytest.mark.parametrize("name", DNS_LABEL_GOOD)
def test_is_dns1123_label_good(name):
    assert validate_dns1123_label(name) == []


@pytest.mark.parametrize("name", DNS_LABEL_BAD)
def test_is_dns1123_label_bad(name):
    assert validate_dns1123_label(name) != []


def test_is_dns1123_label_messages():
    regex_msg = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                 "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
                 "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    assert validate_dns1123_label("A") == [regex_msg]
    assert validate_dns1123_label("a.b") == ["must not contain dots"]
    assert validate_dns1123_label("a" * 64) == ["must be no more than 63 characters"]


DNS_SUBDOMAIN_GOOD = [
    "a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2",
    "a.a", "ab.a", "abc.a", "a1.a", "a-1.a", "a--1--2--b.a", "a.1", "ab.1", "abc.1", "a1.1", "a-1.1",
    "a--1--2--b.1", "0.a", "01.a", "012.a", "1a.a", "1-a.a", "1--a--b--2", "0.1", "01.1", "012.1",
    "1a.1", "1-a.1", "1--a--b--2.1", "a.b.c.d.e", "aa.bb.cc.dd.ee", "1.2.3.4.5", "11.22.33.44.55",
    "a" * 253]
DNS_SUBDOMAIN_BAD = [
    "", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a", "a_b",
    "1_", "_1", "1_2", ".", "a.", ".a", "a..b", "1.", ".1", "1..2", " ", "a ", " a", "a b", "1 ",
    " 1", "1 2", "A.a", "aB.a", "ab.A", "A1.a", "a1.A", "A.1", "aB.1", "A1.1", "1A.1", "0.A", "01.A",
    "012.A", "1A.a", "1a.A", "A.B.C.D.E", "AA.BB.CC.DD.EE", "a.B.c.d.e", "aa.bB.cc.dd.ee", "a@b",
    "a,b", "a_b", "a;b", "a:b", "a%b", "a?b", "a$b", "a" * 254]


@pytest.mark.parametrize("name", DNS_SUBDOMAIN_GOOD)
def test_is_dns1123_subdomain_good(name):
    assert validate_dns1123_subdomain(name) == []


@pytest.mark.parametrize("name", DNS_SUBDOMAIN_BAD)
def test_is_dns1123_subdomain_bad(name):
    assert validate_dns1123_subdomain(name) != []


def test_is_dns1123_subdomain_messages():
    regex_msg = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    assert validate_dns1123_subdomain("A") == [regex_msg]
    assert validate_dns1123_subdomain("a" * 254) == ["must be no more than 253 characters"]


# ------------------------------------------------------------------------ module

def test_public_api():
    assert set(labels.__all__) == {
        "SelectorSyntaxError", "Requirement", "Selector", "EVERYTHING", "NOTHING", "parse", "from_set",
        "from_label_selector", "to_label_selector", "validate_label_key", "validate_label_value",
        "validate_dns1123_label", "validate_dns1123_subdomain"}


def test_doctests():
    result = doctest.testmod(labels, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10
    assert result.failed == 0
