"""The state file: what it says it is, what a bad one gives, a write the disk refuses, and disk == memory."""

import logging
import os
import sqlite3
import subprocess
import sys

import pytest

from reconcile.api.errors import StateError
from reconcile.api.model import Pod
from reconcile.state import datadir
from reconcile.state.durable import APPLICATION_ID, SCHEMA_VERSION, SqliteBackend
from reconcile.state.store import Store


def _pod(name):
    return Pod.new(name, "default", spec={"containers": [{"name": "c"}]})


def _stored(path, *names):
    s = Store(clock=lambda: 1.0, backend=SqliteBackend(path))
    for n in names:
        s.create(_pod(n))
    s.close()


def _objects(path):
    s = Store(clock=lambda: 1.0, backend=SqliteBackend(path))
    try:
        return s.revision, {o.key: o for o in s.snapshot()}
    finally:
        s.close()


# -- disk == memory

def test_a_listener_that_raises_after_the_commit_leaves_memory_equal_to_disk(tmp_path, caplog):
    path = str(tmp_path / "state.db")
    s = Store(clock=lambda: 1.0, backend=SqliteBackend(path))
    heard = []

    def broken(event):
        if event.object.name == "b":
            raise RuntimeError("listener bug")

    s.add_listener(broken)
    s.add_listener(lambda e: heard.append(e.object.name))   # a listener after the broken one still hears
    s.create(_pod("a"))
    with caplog.at_level(logging.ERROR, logger="reconcile.state.store"):
        created = s.create(_pod("b"))                # the writer does not see the listener's error
    with s.batch():
        s.create(_pod("c"))
        s.update(created.set(metadata=created.metadata.set(labels=created.metadata.labels.set("x", "y"))))
    assert heard == ["a", "b", "c", "b"]
    assert [(e.object.name, str(err)) for e, _, err in s.listener_errors] == [("b", "listener bug"), ("b", "listener bug")]
    assert "a store listener" in caplog.text and "Pod default/b" in caplog.text and "listener bug" in caplog.text
    memory = (s.revision, {o.key: o for o in s.snapshot()})
    s.close()
    assert _objects(path) == memory
    assert memory[0] == 4 and memory[1][("Pod", "default", "b")].metadata.labels["x"] == "y"


# -- a write the disk refuses

def test_a_full_disk_reports_its_real_cause_and_memory_stays_equal_to_disk(tmp_path):
    path = str(tmp_path / "state.db")
    s = Store(clock=lambda: 1.0, backend=SqliteBackend(path))
    s.create(_pod("first"))
    pages = s.backend.db.execute("PRAGMA page_count").fetchone()[0]
    s.backend.db.execute(f"PRAGMA max_page_count={pages + 1}")     # the disk is full after one more page
    big = Pod.new("big", "default", annotations={"blob": "x" * 200_000}, spec={"containers": [{"name": "c"}]})
    with pytest.raises(StateError) as e:
        s.create(big)
    assert str(e.value) == f"{path}: the change was not saved: database or disk is full"
    assert "cannot rollback" not in str(e.value)
    assert [p.name for p in s.list("Pod")] == ["first"] and s.revision == 1
    s.create(_pod("small"))                          # what fits is still written
    memory = (s.revision, {o.key: o for o in s.snapshot()})
    s.close()
    assert _objects(path) == memory


# -- the state file says what it is

def test_a_new_state_file_carries_reconciles_id_and_its_schema_version(tmp_path):
    path = str(tmp_path / "state.db")
    _stored(path, "a")
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1
    db.close()


def test_a_state_file_from_before_versions_opens_and_is_stamped(tmp_path):
    path = str(tmp_path / "state.db")
    _stored(path, "a")
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id=0")
    db.execute("PRAGMA user_version=0")
    db.commit()
    db.close()
    revision, objects = _objects(path)
    assert revision == 1 and list(objects) == [("Pod", "default", "a")]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def _future(path):
    _stored(path, "a")
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.commit()
    db.close()


def _truncated(path):
    _stored(path, *(f"p{i}" for i in range(300)))
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


def _scribbled(path):
    _stored(path, *(f"p{i}" for i in range(300)))
    with open(path, "r+b") as f:
        f.seek(8192)
        f.write(b"\xde\xad\xbe\xef" * 1024)


def _not_sqlite(path):
    with open(path, "w") as f:
        f.write("deployment web { replicas 2 }\n")


def _someone_elses(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    db.commit()
    db.close()


def _a_broken_object(path):
    _stored(path, "a")
    db = sqlite3.connect(path)
    db.execute("UPDATE objects SET data='{\"kind\": \"Pod\", \"metadata\": ' WHERE name='a'")
    db.commit()
    db.close()


BAD = {
    "future": (_future, r"written by a newer reconcile \(state schema 2; this one reads up to 1\).*upgrade reconcile"),
    "truncated": (_truncated, r"the state file is damaged \(.*malformed.*\); it is left as it is: move it aside"),
    "scribbled": (_scribbled, r"the state file is damaged \(.*\); it is left as it is: move it aside"),
    "not-sqlite": (_not_sqlite, r"not a reconcile state file \(not an SQLite database\)"),
    "another-programs": (_someone_elses, r"not a reconcile state file \(an SQLite database of another program\)"),
    "broken-object": (_a_broken_object, r"the stored Pod default/a cannot be read \(JSONDecodeError: .*\); it is left"),
}


def _files(d):
    return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d)) if f.startswith("state.db")}


@pytest.mark.parametrize("how", sorted(BAD))
def test_a_bad_state_file_is_a_named_error_with_its_path_and_is_left_as_it_is(tmp_path, how):
    make, message = BAD[how]
    path = str(tmp_path / "state.db")
    make(path)
    before = _files(tmp_path)
    for readonly in (False, True):
        with pytest.raises(StateError, match=message) as e:
            Store(clock=lambda: 1.0, backend=SqliteBackend(path, readonly=readonly))
        assert str(e.value).startswith(f"{path}: ")
        after = _files(tmp_path)
        assert after["state.db"] == before["state.db"]  # not a byte of it changed
        if not readonly:                    # (a reader of a file in WAL mode may leave SQLite's -shm beside it)
            assert after == before
        assert e.value.__cause__ is None and (e.value.__context__ is None or e.value.__suppress_context__)
    assert datadir.owner(str(tmp_path)) is None        # and the failed open left the directory free


PLAN_FILE = "deployment web {\n  replicas 2\n  labels app=web\n  container main { command sleep 1 }\n}\n"


@pytest.mark.parametrize("how", ["future", "truncated", "not-sqlite"])
def test_the_command_says_a_bad_state_file_in_one_line(tmp_path, how):
    state = tmp_path / "state"
    state.mkdir()
    BAD[how][0](str(state / "state.db"))
    f = tmp_path / "web.cluster"
    f.write_text(PLAN_FILE)
    r = subprocess.run([sys.executable, "-m", "reconcile.frontends.cli", "plan", str(f), "--state", str(state)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r
    assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith(f"reconcile: {state / 'state.db'}: ")


def test_plan_reads_the_state_of_a_directory_another_process_owns(tmp_path):
    state = tmp_path / "state"
    s = Store(clock=lambda: 1.0, backend=SqliteBackend(str(state / "state.db")))
    f = tmp_path / "web.cluster"
    f.write_text(PLAN_FILE)
    try:
        import dsl
        for obj in dsl.parse(PLAN_FILE):
            s.create(obj)
        r = subprocess.run([sys.executable, "-m", "reconcile.frontends.cli", "plan", str(f), "--state", str(state)],
                           capture_output=True, text=True, timeout=60)
    finally:
        s.close()
    assert r.returncode == 0 and "Plan: 0 to create, 0 to change, 0 to delete." in r.stdout, r
