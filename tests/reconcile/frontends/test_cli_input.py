"""Bad input and bad luck at the command line: one clear line per error, the other files still read,
nothing a user wrote ever lost (issue 12, items 1 and 9)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import pytest

from reconcile.frontends.cli import main

HELLO = "deployment web {\n  replicas 2\n  labels app=web\n  container main { command python -m http.server }\n}\n"
UNFORMATTED = "deployment   web {  replicas 2\n labels app=web\n container main { command python -m http.server } }\n"


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert "Traceback" not in err and "internal error" not in err, err
    return lines[0]


@pytest.mark.parametrize("name, content, message", [
    ("binary.yaml", b"\x89PNG\r\n\x1a\n\x00\x00", "binary.yaml:1:1: not UTF-8 text: byte 0x89"),
    ("latin1.cluster", "namespace caf\xe9\n".encode("latin-1"), "latin1.cluster:1:14: not UTF-8 text: byte 0xe9"),
    ("items.yaml", b"kind: List\nitems: 5\n", "items.yaml:1:1: items: a List's items must be a list of objects"),
    ("ns.yaml", b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: [1]\n",
     "ns.yaml:1:1: metadata.namespace: expected a string, got list [1]"),
    ("kind.yaml", b"kind: [Pod]\n", "kind.yaml:1:1: kind: expected a string, got list"),
    ("twice.yaml", b"kind: Namespace\nmetadata: {name: a}\nkind: Pod\n",
     'twice.yaml:3:1: invalid YAML: key "kind" already set in this mapping (first on line 1)'),
])
def test_check_reports_bad_files_in_one_line_and_goes_on_with_the_others(tmp_path, capsys, name, content, message):
    bad = tmp_path / name
    bad.write_bytes(content)
    good = tmp_path / "good.cluster"
    good.write_text(HELLO)
    status, out, err = run(capsys, "check", str(bad), str(good))
    assert status == 1
    assert one_line(err).startswith(str(bad)) and message in one_line(err)
    assert f"{good}: ok (1 Deployment)" in out


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "directory"])
def test_check_does_not_read_fifos_devices_or_directories(tmp_path, capsys, special):
    if special == "fifo":
        path = tmp_path / "pipe.cluster"
        os.mkfifo(path)                     # reading it would wait for a writer forever
    elif special == "directory":
        path = tmp_path / "folder.cluster"
        path.mkdir()
    else:
        path = special                      # reading it would never end
    status, _, err = run(capsys, "check", str(path))
    assert status == 1
    assert one_line(err).startswith(f"{path}: ")
    assert ("not a regular file" in err) if special != "directory" else ("is a directory" in err)


def test_files_over_the_size_limit_are_refused_and_the_limit_can_be_set(tmp_path, capsys, monkeypatch):
    path = tmp_path / "big.cluster"
    path.write_text(HELLO + "# " + "x" * 2048 + "\n")
    monkeypatch.setenv("RECONCILE_MAX_FILE_SIZE", "1Ki")
    status, _, err = run(capsys, "check", str(path))
    assert status == 1
    assert "too large to read" in one_line(err) and "the limit is 1,024 bytes" in err
    monkeypatch.setenv("RECONCILE_MAX_FILE_SIZE", "1Mi")
    assert run(capsys, "check", str(path))[0] == 0


def test_the_default_limit_is_32_mib(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RECONCILE_MAX_FILE_SIZE", raising=False)
    path = tmp_path / "huge.cluster"
    with open(path, "wb") as f:             # a sparse file: no disk used
        f.truncate(32 * 1024 * 1024 + 1)
    status, _, err = run(capsys, "check", str(path))
    assert status == 1 and "the limit is 33,554,432 bytes" in one_line(err)


def test_a_billion_laughs_is_refused_before_it_expands(tmp_path, capsys):
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]" for p, c in zip("abcdefgh", "bcdefghi")]
    path = tmp_path / "laughs.yaml"
    path.write_text("kind: Namespace\nmetadata:\n  name: x\n  annotations:\n"
                    + "".join(f"    {line}\n" for line in levels))
    status, _, err = run(capsys, "check", str(path))
    assert status == 1
    assert "invalid YAML: document contains excessive aliasing" in one_line(err)


def test_a_failed_fmt_on_a_full_disk_leaves_the_file_as_it_was(tmp_path):
    """A file size limit (RLIMIT_FSIZE) makes every write past it fail, as a full disk does."""
    path = tmp_path / "shop.cluster"
    path.write_text("".join(UNFORMATTED.replace("web", f"web-{i}") for i in range(20)))
    os.chmod(path, 0o640)
    before = path.read_bytes()
    assert len(before) > 1024
    program = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)      # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
        from reconcile.frontends.cli import main
        sys.exit(main(["fmt", {str(path)!r}]))
    """)
    run_ = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert run_.returncode == 1, run_.stderr
    assert path.read_bytes() == before                       # not truncated mid-word
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.cluster"]     # no temporary file left
    assert "Traceback" not in run_.stderr and run_.stderr.strip().count("\n") == 0
    assert run_.stderr.startswith(f"{path}: File too large")


def test_fmt_keeps_the_files_mode_and_replaces_it_whole(tmp_path, capsys):
    path = tmp_path / "web.cluster"
    path.write_text(UNFORMATTED)
    os.chmod(path, 0o600)
    inode = os.stat(path).st_ino
    status, out, _ = run(capsys, "fmt", str(path))
    assert status == 0 and "reformatted" in out
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.stat(path).st_ino != inode            # a new file renamed over the old one
    assert run(capsys, "fmt", "--check", str(path))[0] == 0


def test_a_failed_convert_output_leaves_the_old_output_as_it_was(tmp_path):
    source = tmp_path / "web.cluster"
    source.write_text(HELLO * 1 + "".join(f"namespace team-{i}\n" for i in range(200)))
    out = tmp_path / "web.yaml"
    out.write_text("kind: Namespace\nmetadata: {name: keep}\n")
    before = out.read_bytes()
    program = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
        from reconcile.frontends.cli import main
        sys.exit(main(["convert", {str(source)!r}, "--to", "yaml", "-o", {str(out)!r}]))
    """)
    run_ = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert run_.returncode == 1, run_.stderr
    assert out.read_bytes() == before
    assert run_.stderr.startswith(f"{out}: File too large") and "Traceback" not in run_.stderr


def test_a_reader_that_goes_away_is_not_an_error(tmp_path):
    """``reconcile convert ... | head -1``: the closed pipe ends the command quietly."""
    source = tmp_path / "many.cluster"
    source.write_text("".join(f"namespace team-{i}\n" for i in range(5000)))
    run_ = subprocess.run(f"{sys.executable} -m reconcile.frontends.cli convert {source} --to yaml | head -1",
                          shell=True, capture_output=True, text=True, timeout=120)
    assert run_.stdout == "apiVersion: v1\n"
    assert "Traceback" not in run_.stderr and "Broken pipe" not in run_.stderr, run_.stderr

