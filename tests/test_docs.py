"""Docs that run: every example file and every ```cluster block in the docs parses,
the examples are canonical, and the README's error example is what the tool prints."""

import pathlib
import re

import pytest

import dsl
from reconcile.frontends.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.cluster"))
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```cluster\n(.*?)```", re.S)


def test_there_are_examples():
    assert len(EXAMPLES) >= 4
    assert (ROOT / "examples" / "shop.cluster") in EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_passes_check_and_is_canonical(path, capsys):
    assert main(["check", str(path)]) == 0, capsys.readouterr().err
    assert main(["fmt", "--check", str(path)]) == 0, capsys.readouterr().out
    manifest = dsl.parse_file(path)
    assert dsl.load_yaml(dsl.to_yaml(manifest)) == manifest


def _blocks():
    for doc in DOCS:
        for i, m in enumerate(BLOCK.finditer(doc.read_text())):
            yield pytest.param(m.group(1), id=f"{doc.name}-{i}")


@pytest.mark.parametrize("text", list(_blocks()))
def test_cluster_blocks_in_the_docs_parse(text):
    dsl.parse(text)


def test_the_readme_error_example_is_real(tmp_path, capsys):
    readme = (ROOT / "README.md").read_text()
    hello = BLOCK.search(readme).group(1)
    shown = re.search(r"```text\n(hello\.cluster:.*?)```", readme, re.S).group(1)
    p = tmp_path / "hello.cluster"
    p.write_text(hello.replace("cpu=250m", "cpu=12x"))
    assert main(["check", str(p)]) == 1
    assert capsys.readouterr().err.replace(str(p), "hello.cluster") == shown


def test_the_readme_python_tour_runs(tmp_path, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text()
    (tmp_path / "hello.cluster").write_text(BLOCK.search(readme).group(1))
    monkeypatch.chdir(tmp_path)
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    after = ns["sim"].pods_by_node()
    assert after["worker-1"] == [] and len(after["worker-2"]) == 3
    assert "kind: Deployment" in capsys.readouterr().out
