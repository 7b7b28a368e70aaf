"""Joining a Ray cluster: a Ray Client connection whose per-client server did not start is tried
again; nothing else is (``ray.init`` replaced, no Ray started)."""

import logging

import pytest

import cluster_ray.runtime as runtime

FAILURE = ConnectionAbortedError("Initialization failure from server:\nTraceback (most recent call last):\n"
                                 "RuntimeError: Starting Ray client server failed.\n")


def fake_init(monkeypatch, outcomes):
    calls = []

    def init(**kwargs):
        calls.append(kwargs)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    monkeypatch.setattr(runtime.ray, "init", init)
    return calls


def test_ray_client_server_that_did_not_start_is_tried_again(monkeypatch, caplog):
    calls = fake_init(monkeypatch, [FAILURE, FAILURE, "context"])
    with caplog.at_level(logging.WARNING, logger="reconcile.ray"):
        assert runtime.join_ray("ray://127.0.0.1:10001", pause=0, namespace="ns") == "context"
    assert calls == [{"address": "ray://127.0.0.1:10001", "namespace": "ns"}] * 3
    assert [r.getMessage() for r in caplog.records] == [
        f"Ray Client at ray://127.0.0.1:10001 could not start a server for this client (attempt {n} of 3), "
        "trying again: RuntimeError: Starting Ray client server failed." for n in (1, 2)]


def test_the_last_failure_is_raised(monkeypatch):
    calls = fake_init(monkeypatch, [FAILURE] * 3)
    with pytest.raises(ConnectionAbortedError, match="Initialization failure from server"):
        runtime.join_ray("ray://127.0.0.1:10001", pause=0)
    assert len(calls) == 3


@pytest.mark.parametrize("address, error", [
    ("127.0.0.1:6379", FAILURE),                                   # not Ray Client: no retry
    ("ray://127.0.0.1:10001", ConnectionError("ray client connection timeout")),   # another error
])
def test_other_failures_are_raised_at_once(monkeypatch, address, error):
    calls = fake_init(monkeypatch, [error, "context"])
    with pytest.raises(type(error)):
        runtime.join_ray(address, pause=0)
    assert len(calls) == 1
