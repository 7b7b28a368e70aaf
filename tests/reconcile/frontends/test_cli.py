"""The reconcile command: check, fmt, convert; exit codes and messages."""

import subprocess
import sys

import pytest

import dsl
from reconcile.frontends.cli import main

GOOD = """deployment web {
  replicas 2
  labels app=web
  container main {
    command python -m http.server $PORT
    port http 8080
  }
}

service web {
  selector app=web
  port 80 -> http
}
"""


@pytest.fixture
def good(tmp_path):
    p = tmp_path / "web.cluster"
    p.write_text(GOOD)
    return p


def test_check_ok_and_summary(good, capsys):
    assert main(["check", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: ok (1 Deployment, 1 Service)\n"


def test_check_reports_every_error_and_exits_1(tmp_path, capsys):
    p = tmp_path / "bad.cluster"
    p.write_text("deployment web {\n  replicas -1\n  labels app=web\n  container c { command x\n"
                 "  requests cpu=lots } }\n")
    assert main(["check", str(p)]) == 1
    err = capsys.readouterr().err
    assert f"{p}:2:12: replicas must be 0 or more, got -1" in err
    assert f"{p}:5:16: requests cpu: expected a quantity like 250m or 2Gi, got 'lots'" in err
    assert "2 errors" in err and "Traceback" not in err


def test_check_reads_yaml_too(tmp_path, capsys):
    p = tmp_path / "x.yaml"
    p.write_text(dsl.to_yaml(dsl.parse(GOOD)))
    assert main(["check", str(p)]) == 0


def test_missing_file_is_a_clean_error(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.cluster")]) == 1
    assert "No such file or directory" in capsys.readouterr().err


def test_fmt_check_and_rewrite(tmp_path, capsys):
    p = tmp_path / "messy.cluster"
    p.write_text("# header\nservice web { selector app=web port 80 -> http }")
    assert main(["fmt", "--check", str(p)]) == 1
    assert "would reformat" in capsys.readouterr().out
    assert p.read_text().startswith("# header\nservice web {")          # --check changes nothing
    assert main(["fmt", str(p)]) == 0
    assert p.read_text() == "# header\n\nservice web {\n  selector app=web\n  port 80 -> http\n}\n"
    assert main(["fmt", "--check", str(p)]) == 0


def test_fmt_leaves_a_broken_file_alone(tmp_path, capsys):
    p = tmp_path / "broken.cluster"
    p.write_text("service web { port }")
    assert main(["fmt", str(p)]) == 1
    assert p.read_text() == "service web { port }"


def test_convert_both_ways(good, tmp_path, capsys):
    assert main(["convert", str(good), "--to", "yaml"]) == 0
    yaml_text = capsys.readouterr().out
    assert "kind: Deployment" in yaml_text
    y = tmp_path / "web.yaml"
    y.write_text(yaml_text)
    assert main(["convert", str(y), "--to", "dsl"]) == 0
    out = capsys.readouterr()
    assert out.out == GOOD and out.err == ""


def test_convert_warns_about_what_the_language_cannot_say(tmp_path, capsys):
    y = tmp_path / "x.yaml"
    y.write_text(dsl.to_yaml(dsl.parse(GOOD)).replace("dnsPolicy: ClusterFirst", "dnsPolicy: Default"))
    assert main(["convert", str(y), "--to", "dsl"]) == 0
    assert "warning: the language cannot express Deployment web: spec.template.spec.dnsPolicy" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["fmt", "--help"], ["convert", "--help"],
                                  ["plan", "--help"], ["sim", "--help"]])
def test_help_for_every_command(args):
    r = subprocess.run([sys.executable, "-m", "reconcile.frontends.cli", *args], capture_output=True, text=True)
    assert r.returncode == 0 and "usage: reconcile" in r.stdout


def test_console_script_is_installed():
    r = subprocess.run(["reconcile", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("reconcile ")


def test_plan_against_an_empty_and_a_stored_state(good, tmp_path, capsys):
    state = tmp_path / "state"
    assert main(["plan", str(good), "--state", str(state)]) == 0
    assert capsys.readouterr().out == ("+ deployment/web\n+ service/web\n"
                                       "Plan: 2 to create, 0 to change, 0 to delete.\n")
    from reconcile.state.durable import SqliteBackend
    from reconcile.state.store import Store
    store = Store(clock=lambda: 0.0, backend=SqliteBackend(str(state / "state.db")))
    for obj in dsl.parse(GOOD):
        store.create(obj)
    store.close()
    changed = tmp_path / "changed.cluster"
    changed.write_text(GOOD.replace("replicas 2", "replicas 5"))
    assert main(["plan", str(changed), "--state", str(state)]) == 0
    assert capsys.readouterr().out == ("~ deployment/web\n      spec.replicas: 2 -> 5\n"
                                       "Plan: 0 to create, 1 to change, 0 to delete.\n")


def test_sim_prints_the_pods_per_node(good, capsys):
    assert main(["sim", str(good)]) == 0
    out = capsys.readouterr().out
    assert out.count("Running  ready") == 2 and "node-1:" in out and "settled after" in out
