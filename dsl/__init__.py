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
from dsl._format import format, lossy_fields
from dsl._parser import parse
from dsl._selector import parse_selector
from dsl._yaml import load_yaml, to_yaml

__all__ = ["parse", "parse_file", "load", "keywords", "parse_selector", "format", "lossy_fields", "load_yaml",
           "to_yaml", "DslError", "DslErrors", "DslSyntaxError", "SelectorError", "YamlError"]


def parse_file(path) -> tuple:
    """Parse a ``.cluster`` file (errors name the file)."""
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), str(path))


YAML_SUFFIXES = (".yaml", ".yml", ".json")


def load(text: str, path: str) -> tuple:
    """The objects of a file's ``text``: Kubernetes YAML (or JSON) when ``path`` ends in
    ``.yaml``, ``.yml`` or ``.json``, else the language; errors name ``path``."""
    if path.endswith(YAML_SUFFIXES):
        return load_yaml(text, path)
    return parse(text, path)


@functools.lru_cache(maxsize=1)
def keywords() -> frozenset:
    """The words of the language (its grammar's keywords: ``deployment``, ``replicas``, ...)."""
    from dsl._parser import driver
    return frozenset(driver().keywords.values())
