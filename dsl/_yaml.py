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

class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML as Kubernetes reads it: the data of JSON. A timestamp stays the string it was written as,
    ``!!binary`` the base64 text (what JSON holds for bytes), a ``!!set`` a mapping to nulls."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_str)
_Loader.add_constructor("tag:yaml.org,2002:binary",
                        lambda loader, node: "".join(loader.construct_scalar(node).split()))
_Loader.add_constructor("tag:yaml.org,2002:set",
                        lambda loader, node: dict.fromkeys(loader.construct_mapping(node)))
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

MAX_DEPTH = 100                  # nesting of mappings and lists in one document
_ALIAS_RATIO_LOW, _ALIAS_RATIO_HIGH = 400_000, 4_000_000


def allowed_alias_ratio(decoded: int) -> float:
    """The share of a document's decoded nodes that may come from aliases: gopkg.in/yaml.v2's
    ``allowedAliasRatio`` (decode.go), which Kubernetes' YAML decoder (sigs.k8s.io/yaml) runs:
    99% up to 400,000 nodes, 10% from 4,000,000, linear in between."""
    if decoded <= _ALIAS_RATIO_LOW:
        return 0.99
    if decoded >= _ALIAS_RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decoded - _ALIAS_RATIO_LOW) / (_ALIAS_RATIO_HIGH - _ALIAS_RATIO_LOW)


def _inspect(root) -> None:
    """Refuse, before anything is built from it, a document that aliases would blow up (a "billion
    laughs"), that refers to itself, that nests deeper than :data:`MAX_DEPTH`, or whose mapping sets
    a key twice. Counts without expanding: each node's expanded size is computed once."""
    size: dict = {}                  # id(node) -> nodes it decodes to, aliases expanded
    written = 0                      # nodes as written (an alias's target counted once)
    stack = [(root, 0, False)]
    active: set = set()
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            children = _children(node)
            size[key] = 1 + sum(size[id(c)] for c in children)
            continue
        if key in size:
            continue
        if key in active:
            raise yaml.MarkedYAMLError(problem="an alias refers to the node that contains it",
                                       problem_mark=node.start_mark)
        if depth > MAX_DEPTH:
            raise yaml.MarkedYAMLError(problem=f"nested deeper than {MAX_DEPTH} levels",
                                       problem_mark=node.start_mark)
        written += 1
        if isinstance(node, yaml.MappingNode):
            _no_duplicate_keys(node)
        active.add(key)
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in _children(node) if id(c) not in size)
    decoded = size[id(root)]
    aliased = decoded - written
    if aliased > 100 and decoded > 1000 and aliased / decoded > allowed_alias_ratio(decoded):
        raise yaml.MarkedYAMLError(problem=f"document contains excessive aliasing (its aliases expand "
                                           f"{written:,} distinct nodes into {decoded:,})",
                                   problem_mark=root.start_mark)


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return node.value
    return []


def _no_duplicate_keys(node) -> None:
    """Kubernetes decodes YAML strictly: a key set twice in one mapping is an error, not last-wins."""
    seen: dict = {}
    for k, _ in node.value:
        if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
            first = seen.setdefault((k.tag, k.value), k)
            if first is not k:
                raise yaml.MarkedYAMLError(problem=f'key "{k.value}" already set in this mapping '
                                                   f"(first on line {first.start_mark.line + 1})",
                                           problem_mark=k.start_mark)


def _documents(text: str, path: str | None):
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            _inspect(node)
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
        if items is not None and not isinstance(items, list):
            errors.append(YamlError(f"items: a List's items must be a list of objects, got {type(items).__name__}",
                                    line, 1, path, _line(text, line)))
            continue
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
