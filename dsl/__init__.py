"""The reconcile cluster language: parse, check, format, and Kubernetes YAML in and out.

>>> m = parse('''
... deployment web {
...   replicas 2
...   labels app=web
...   container main { command python -m http.server $PORT
...                    port http 8080 }
... }''')
>>> [(o.kind, o.name, o.spec["replicas"]) for o in m]
[('Deployment', 'web', 2)]
>>> parse_selector("app=web, tier in (a, b)").matches({"app": "web", "tier": "a"})
True
"""

import functools

from dsl._errors import DslError, DslErrors, DslSyntaxError, SelectorError, YamlError
from dsl._files import MAX_FILE_BYTES, InputError, read_file, write_file
from dsl._format import format, lossy_fields
from dsl._parser import parse
from dsl._selector import parse_selector
from dsl._yaml import load_yaml, to_yaml

__all__ = ["parse", "parse_file", "load", "load_file", "read_file", "write_file", "MAX_FILE_BYTES", "keywords", "parse_selector", "format", "lossy_fields", "load_yaml",
           "to_yaml", "DslError", "DslErrors", "DslSyntaxError", "SelectorError", "YamlError", "InputError"]


def parse_file(path) -> tuple:
    """Parse a ``.cluster`` file (errors name the file; :func:`read_file` reads it)."""
    return parse(read_file(path), str(path))


YAML_SUFFIXES = (".yaml", ".yml", ".json")


def load(text: str, path: str) -> tuple:
    """The objects of a file's ``text``: Kubernetes YAML (or JSON) when ``path`` ends in
    ``.yaml``, ``.yml`` or ``.json``, else the language; errors name ``path``."""
    if path.endswith(YAML_SUFFIXES):
        return load_yaml(text, path)
    return parse(text, path)


def load_file(path) -> tuple:
    """The objects of the file at ``path`` (``-``: standard input, read as the language), read by
    :func:`read_file`: only a regular UTF-8 file within the size limit; errors name the file."""
    path = str(path)
    return load(read_file(path), "<stdin>" if path == "-" else path)


@functools.lru_cache(maxsize=1)
def keywords() -> frozenset:
    """The words of the language (its grammar's keywords: ``deployment``, ``replicas``, ...)."""
    from dsl._parser import driver
    return frozenset(driver().keywords.values())
