"""Kubernetes YAML in and out: ``dsl.load_yaml`` and ``dsl.to_yaml``.

``load_yaml`` reads multi-document YAML (and ``kind: List``), checks every
object the way the language's checks do (names, labels, known kinds and
fields) and reports every error with its line; ``to_yaml`` writes the
objects with ``apiVersion``, ``kind``, ``metadata``, ``spec``, ``status``
first and every other mapping's keys sorted. ``load_yaml(to_yaml(m)) == m``.
"""

from __future__ import annotations

import yaml

from reconcile.api import validate_objects as _validate
from reconcile.api import model as _model

from dsl._errors import DslErrors, YamlError

__all__ = ["load_yaml", "to_yaml"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _documents(text: str, path: str | None):
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            yield loader.construct_document(node), node.start_mark.line + 1
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = getattr(e, "problem", None) or str(e)
        raise YamlError(f"invalid YAML: {problem}", line, column, path,
                        _line(text, line)) from None
    finally:
        loader.dispose()


def _line(text: str, line: int) -> str | None:
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else None


def _check(obj, errors, where) -> None:
    """The API server's validation of the whole object (:mod:`reconcile.api.validate_objects`), every error."""
    problems = _validate.validate_object(obj)
    if problems:
        errors.append(where(str(_validate.InvalidObject(obj, problems))))


def load_yaml(text: str, path: str | None = None) -> tuple:
    """Read Kubernetes YAML (one or many documents) into a tuple of model objects.

    >>> [o.key for o in load_yaml("kind: Namespace\\napiVersion: v1\\nmetadata: {name: shop}")]
    [('Namespace', None, 'shop')]
    """
    if not isinstance(text, str):
        raise TypeError(f"dsl.load_yaml expects text (str), got {type(text).__name__}")
    errors: list = []
    out: list = []
    seen: dict = {}
    for data, line in _documents(text, path):
        if data is None:
            continue
        items = data.get("items") if isinstance(data, dict) and data.get("kind") == "List" else [data]
        for item in items or ():
            def where(message, line=line):
                return YamlError(message, line, 1, path, _line(text, line))
            try:
                obj = _model.from_dict(item)
            except _model.ModelError as e:
                errors.append(where(str(e)))
                continue
            except (TypeError, ValueError, AttributeError) as e:
                errors.append(where(f"not a valid Kubernetes object: {e}"))
                continue
            _check(obj, errors, where)
            if obj.key in seen:
                errors.append(where(f"{obj.kind.lower()} {obj.name!r} is defined twice "
                                    f"(first on line {seen[obj.key]})"))
            seen[obj.key] = line
            out.append(obj)
    if errors:
        raise DslErrors(errors) if len(errors) > 1 else errors[0]
    return tuple(out)


_TOP = ("apiVersion", "kind", "metadata", "spec", "status")


def _sorted(value):
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def to_yaml(manifest) -> str:
    """Multi-document Kubernetes YAML for a manifest.

    >>> from dsl import parse
    >>> print(to_yaml(parse("namespace shop")), end="")
    apiVersion: v1
    kind: Namespace
    metadata:
      name: shop
    spec: {}
    """
    docs = []
    for obj in manifest:
        d = obj.to_dict()
        ordered = {k: _sorted(d[k]) if k not in ("apiVersion", "kind") else d[k] for k in _TOP if k in d}
        ordered.update({k: _sorted(d[k]) for k in sorted(d) if k not in _TOP})
        docs.append(yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                              allow_unicode=True, width=1000))
    return "---\n".join(docs)
