"""Cells cut into steps, and command lines read, with errors at the cell's line and column."""

import pytest

from dsl import DslError
from reconcile.frontends.notebook.commands import CommandError, brace_depth, parse_command, split_cell


def test_a_cell_is_cut_into_definitions_commands_and_python_lines_in_order():
    cell = ("# a comment\n"
            "deployment web {\n"
            "  replicas 2\n"
            "  container http { command python -m http.server }\n"
            "}\n"
            "get pods where app=web\n"
            "%python n = 1\n"
            "service web { selector app=web  port 80 -> 8000 }\n"
            "scale web 3\n")
    steps = split_cell(cell)
    assert [(s.kind, s.line) for s in steps] == [("definitions", 1), ("command", 6), ("python", 7),
                                                ("definitions", 8), ("command", 9)]
    assert steps[2].text == "n = 1"


def test_command_words_inside_a_block_are_the_languages():
    cell = "rule r {\n  when count pods(app=web) > 0 for 2m\n  then rollout restart deployment web\n}\nevents"
    assert [s.kind for s in split_cell(cell)] == ["definitions", "command"]


def test_braces_in_strings_and_comments_do_not_count():
    assert brace_depth('container c { command echo "}}" # }') == 1
    assert brace_depth("a { b { } ") == 1 and brace_depth("}") == -1


@pytest.mark.parametrize("line, args", [
    ("get pods", {"kind": "pods", "name": None, "namespace": None, "selector": None}),
    ("get deploy web -n shop", {"kind": "deploy", "name": "web", "namespace": "shop", "selector": None}),
    ("get pods where app=web and tier in (a, b)",
     {"kind": "pods", "name": None, "namespace": None, "selector": "app=web and tier in (a, b)"}),
    ("scale web 3", {"kind": None, "name": "web", "replicas": 3, "namespace": None}),
    ("scale statefulset kv 0 --namespace=shop", {"kind": "statefulset", "name": "kv", "replicas": 0,
                                                 "namespace": "shop"}),
    ("rollout undo web --to-revision 2", {"action": "undo", "kind": None, "name": "web", "revision": 2,
                                          "namespace": None}),
    ("logs web-1 -c http --tail 5", {"pod": "web-1", "container": "http", "tail": 5, "namespace": None}),
    ("events 5", {"limit": 5}),
    ("connect ray://10.0.0.1:10001", {"target": "ray://10.0.0.1:10001"}),
])
def test_commands_read_their_arguments(line, args):
    assert parse_command(line, 1).args == args


@pytest.mark.parametrize("line, column, words", [
    ("scale web three", 11, "whole number"),
    ("get", 4, "missing the kind"),
    ("rollout redo web", 9, "status, restart, undo or history"),
    ("logs web-1 --tail x", 19, "whole number"),
    ("get pods --all", 10, "unknown option --all"),
    ("describe deployment", 20, "missing the name"),
    ("get pods where", 15, "needs a selector"),
])
def test_a_bad_command_names_its_line_and_column_and_its_usage(line, column, words):
    with pytest.raises(CommandError) as e:
        parse_command(line, 7, "cell[3]")
    err = e.value
    assert isinstance(err, DslError) and (err.line, err.column) == (7, column)
    assert words in err.message and "usage:" in err.message
    rendered = str(err).splitlines()
    assert rendered[0].startswith(f"cell[3]:7:{column}: ") and rendered[1].strip() == line
    assert rendered[2].index("^") == rendered[1].index(line) + column - 1


def test_every_command_is_in_the_notebook_docs():
    import pathlib

    from reconcile.frontends.notebook.commands import COMMANDS
    docs = (pathlib.Path(__file__).resolve().parents[4] / "docs" / "notebook.md").read_text()
    missing = [c for c in COMMANDS if f"`{c}" not in docs]
    assert not missing
