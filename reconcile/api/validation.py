"""Kubernetes' name and label validation (``k8s.io/apimachinery/pkg/util/validation``), word for word.

Each function returns the list of what is wrong, empty when the value is valid.

>>> validate_label_key("example.com/app"), validate_dns1123_label("a.b"), validate_label_value("x" * 64)
([], ['must not contain dots'], ['must be no more than 63 characters'])
"""

from __future__ import annotations

import re

__all__ = ["validate_label_key", "validate_label_value", "validate_dns1123_label", "validate_dns1123_subdomain",
           "validate_dns1035_label", "validate_port_number", "validate_port_name", "validate_percent",
           "validate_env_var_name", "inclusive_range_error"]

_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', "
              "and must start and end with an alphanumeric character")
_VALUE_FMT = "(" + _QNAME_FMT + ")?"
_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, "
              "'-', '_' or '.', and must start and end with an alphanumeric character")
_DNS_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric "
                  "characters or '-', and must start and end with an alphanumeric character")
_DNS_SUB_FMT = _DNS_LABEL_FMT + "(\\." + _DNS_LABEL_FMT + ")*"
_DNS_SUB_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character")
_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character")
_PERCENT_FMT = "[0-9]+%"
_PERCENT_MSG = "a valid percent string must be a numeric string followed by an ending '%'"
_DNS1035_RE, _PERCENT_RE = re.compile(_DNS1035_FMT), re.compile(_PERCENT_FMT)
_PORT_NAME_CHARS_RE, _LETTER_RE = re.compile("[-a-z0-9]+"), re.compile("[a-z]")
_QNAME_RE, _VALUE_RE = re.compile(_QNAME_FMT), re.compile(_VALUE_FMT)
_DNS_LABEL_RE, _DNS_SUB_RE = re.compile(_DNS_LABEL_FMT), re.compile(_DNS_SUB_FMT)


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} ({'e.g. ' if examples else ''}{shown}regex used for validation is '{fmt}')"


def _too_long(s: str, limit: int) -> list[str]:  # Go's len() counts bytes
    too_long = len(s.encode("utf-8", "surrogatepass")) > limit
    return [f"must be no more than {limit} characters"] if too_long else []


def validate_label_key(key: str) -> list[str]:
    """Kubernetes ``IsQualifiedName``: the errors of a label key, [] when valid."""
    errs: list[str] = []
    parts = key.split("/")
    if len(parts) > 2:
        return ["a qualified name " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        errs = ["prefix part " + m for m in validate_dns1123_subdomain(prefix)] if prefix else [
            "prefix part must be non-empty"]
    errs += ["name part " + m for m in _too_long(name, 63)] if name else ["name part must be non-empty"]
    if not _QNAME_RE.fullmatch(name):
        errs.append("name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def validate_label_value(value: str) -> list[str]:
    """Kubernetes ``IsValidLabelValue`` (the empty string is valid): [] when valid."""
    errs = _too_long(value, 63)
    if not _VALUE_RE.fullmatch(value):
        errs.append(_regex_error(_VALUE_MSG, _VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def validate_dns1123_label(name: str) -> list[str]:
    """Kubernetes ``IsDNS1123Label``: [] when valid."""
    errs = _too_long(name, 63)
    if not _DNS_LABEL_RE.fullmatch(name):
        errs.append("must not contain dots" if _DNS_SUB_RE.fullmatch(name)
                    else _regex_error(_DNS_LABEL_MSG, _DNS_LABEL_FMT, "my-name", "123-abc"))
    return errs


def validate_dns1123_subdomain(name: str) -> list[str]:
    """Kubernetes ``IsDNS1123Subdomain``: [] when valid."""
    errs = _too_long(name, 253)
    if not _DNS_SUB_RE.fullmatch(name):
        errs.append(_regex_error(_DNS_SUB_MSG, _DNS_SUB_FMT, "example.com"))
    return errs


def validate_dns1035_label(name: str) -> list[str]:
    """Kubernetes ``IsDNS1035Label`` (a Service's name): [] when valid.

    >>> validate_dns1035_label("web"), validate_dns1035_label("1web")[0][:40]
    ([], 'a DNS-1035 label must consist of lower c')
    """
    errs = _too_long(name, 63)
    if not _DNS1035_RE.fullmatch(name):
        errs.append(_regex_error(_DNS1035_MSG, _DNS1035_FMT, "my-name", "abc-123"))
    return errs


def inclusive_range_error(lo: int, hi: int) -> str:
    """Kubernetes ``InclusiveRangeError``."""
    return f"must be between {lo} and {hi}, inclusive"


def validate_port_number(port: int) -> list[str]:
    """Kubernetes ``IsValidPortNum``: 1 to 65535.

    >>> validate_port_number(80), validate_port_number(0)
    ([], ['must be between 1 and 65535, inclusive'])
    """
    return [] if 1 <= port <= 65535 else [inclusive_range_error(1, 65535)]


def validate_port_name(port: str) -> list[str]:
    """Kubernetes ``IsValidPortName`` (an IANA_SVC_NAME, RFC 6335): [] when valid.

    >>> validate_port_name("http"), validate_port_name("80")
    ([], ['must contain at least one letter (a-z)'])
    """
    errs = _too_long(port, 15)
    if not _PORT_NAME_CHARS_RE.fullmatch(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _LETTER_RE.search(port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def validate_percent(value: str) -> list[str]:
    """Kubernetes ``IsValidPercent``: digits then ``%``."""
    return [] if _PERCENT_RE.fullmatch(value) else [_regex_error(_PERCENT_MSG, _PERCENT_FMT, "1%", "93%")]


def validate_env_var_name(name: str) -> list[str]:
    """Kubernetes ``IsRelaxedEnvVarName`` (the rule since 1.32): printable ASCII, no ``=``.

    >>> validate_env_var_name("PORT"), validate_env_var_name("A=B")
    ([], ["a valid environment variable name must consist only of printable ASCII characters other than '='"])
    """
    errs = [] if name else ["environment variable name must be non-empty"]
    if any(not (" " <= ch <= "~") or ch == "=" for ch in name):
        errs.append("a valid environment variable name must consist only of printable ASCII characters "
                    "other than '='")
    return errs
