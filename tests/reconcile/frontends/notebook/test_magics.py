"""``%load_ext reconcile`` in an ordinary IPython: ``%%cluster`` cells and ``%cluster`` lines."""

import pytest
from IPython.core.interactiveshell import InteractiveShell

WEB = ("deployment web {\n  replicas 2\n  labels app=web\n"
       "  container http { command python -m http.server }\n}")


@pytest.fixture(scope="module")
def ip(tmp_path_factory):
    shell = InteractiveShell.instance(ipython_dir=str(tmp_path_factory.mktemp("ipython")))
    shell.run_line_magic("load_ext", "reconcile")
    yield shell
    shell.run_line_magic("unload_ext", "reconcile")
    InteractiveShell.clear_instance()


def test_a_cluster_cell_applies_its_definitions_and_the_cluster_is_a_variable(ip):
    result = ip.run_cell("%%cluster\n" + WEB)
    assert result.success and "deployment.apps/web created" in str(result.result)
    assert len(ip.user_ns["cluster"].list("Pod", "app=web")) == 2
    again = ip.run_cell("%%cluster\n" + WEB)
    assert str(again.result) == "deployment.apps/web unchanged"


def test_a_cluster_line_runs_one_command(ip):
    ip.run_cell("%%cluster\n" + WEB)
    table = ip.run_line_magic("cluster", "get pods where app=web")
    assert table.columns[:3] == ["NAME", "READY", "STATUS"] and len(table) == 2
    ip.run_line_magic("cluster", "scale web 3")
    assert ip.user_ns["session"].cluster.get("Deployment", "web").spec["replicas"] == 3


def test_an_error_in_a_cluster_cell_is_its_message_and_caret_and_changes_nothing(ip, capsys):
    revision = ip.user_ns["cluster"].store.revision
    result = ip.run_cell("%%cluster\nscale web 4\nget pods where app in (a")
    assert not result.success
    out = capsys.readouterr().out
    assert "Traceback" not in out
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert lines[0].endswith(":3:25: found '', expected: ',' or ')'") and lines[0].startswith("cell[")
    assert lines[1].strip() == "get pods where app in (a" and lines[2].strip() == "^"
    assert ip.user_ns["cluster"].store.revision == revision          # the scale before it did not run
