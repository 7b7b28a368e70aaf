"""Mutation fuzzing of the command line: ``reconcile check``, ``fmt`` and ``convert`` (both directions).

Inputs are the examples (the language, and the same clusters as Kubernetes YAML), mutated as text
(bytes flipped, spans cut, lines doubled or swapped, tokens of the language and of YAML inserted,
the file truncated) and as data (a YAML value replaced by one of another type, a key dropped or
added). Each input goes through the four commands in this process, as ``reconcile.frontends.cli.main``.

A run fails when a command raises, prints a traceback or an "internal error", exits with another
status than 0 or 1, or takes more than :data:`HANG_SECONDS`; :func:`fuzz` returns what it saw.
``tests/reconcile/frontends/test_fuzz.py`` runs a short, fixed selection in CI;
``bench/fuzz_cli.py`` the long run (in a child process whose memory it measures).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import pathlib
import random
import signal
import time

import yaml

import dsl
from reconcile.frontends import cli

ROOT = pathlib.Path(__file__).resolve().parents[3]
HANG_SECONDS = 5.0
COMMANDS = (("check",), ("fmt",), ("convert", "--to", "yaml"), ("convert", "--to", "dsl"))

_YAML_TOKENS = ["&a ", "*a", "<<: *a", "!!binary ", "!!set ", "!!str ", "!!python/object:os.system ", "{", "}",
                "[", "]", "- ", ": ", "? ", "|", ">", "---\n", "...\n", "%YAML 1.2\n", "#", '"', "'", "\t", "\\",
                "~", "null", "yes", "2024-01-01", "0o17", "1_000", ".nan", ".inf", "-.inf", "=", ",", "(", ")"]
_VALUES = ["-1", "0", "1e400", "0x1F", "99999999999999999999", "1000000000", "nan", "12x", "8000m", "1Ei", "-5",
           "../../x", "a" * 300, "中文", "$(HOME)", "$(SECRET)", "A_B", "UPPER", "", "''", '""', "\x00", "\ufeff",
           "\u202e", "http", "65536", "0.5", "true", "{}", "[]"]


@dataclasses.dataclass
class Outcome:
    """What a fuzz run saw: how many inputs and command runs, and every failure (command, input, output)."""

    inputs: int = 0
    runs: int = 0
    refused: int = 0               # runs that reported an error in the input (exit 1)
    slowest: float = 0.0
    failures: list = dataclasses.field(default_factory=list)


def seeds() -> list[tuple[str, str]]:
    """(suffix, text): every example, as the language and as Kubernetes YAML."""
    out = []
    for path in sorted((ROOT / "examples").rglob("*")):
        if path.suffix in (".cluster", ".yaml", ".yml") and path.is_file():
            text = path.read_text()
            out.append((path.suffix, text))
            if path.suffix == ".cluster":
                with contextlib.suppress(dsl.DslError):
                    out.append((".yaml", dsl.to_yaml(dsl.parse(text))))
    return out


def _mutate_text(rng: random.Random, text: str) -> bytes:
    data = bytearray(text.encode())
    for _ in range(rng.randint(1, 4)):
        n = len(data)
        op = rng.randrange(8)
        at = rng.randrange(n + 1) if n else 0
        if op == 0 and n:
            data[min(at, n - 1)] = rng.randrange(256)
        elif op == 1 and n:
            del data[at:at + rng.randint(1, 40)]
        elif op in (2, 3):
            data[at:at] = rng.choice(_YAML_TOKENS if op == 2 else _VALUES).encode()
        elif op == 4:
            data[at:at] = rng.choice(sorted(dsl.keywords())).encode() + b" "
        else:
            lines = bytes(data).split(b"\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            if op == 5:
                lines.insert(i, lines[j])
            elif op == 6:
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines = lines[:i + 1]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def _random_value(rng: random.Random, depth: int = 0):
    choice = rng.randrange(12)
    if choice == 0:
        return rng.choice([-1, 0, 1, 2**31, 2**63, 10**30, 1_000_000_000])
    if choice == 1:
        return rng.choice([0.5, -0.0, 1e300])
    if choice == 2:
        return rng.choice([True, False, None])
    if choice in (3, 4, 5):
        return rng.choice(_VALUES)
    if choice == 6 and depth < 3:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if choice == 7 and depth < 3:
        return {rng.choice(["name", "x", "spec", "image", "cpu", "port", "1"]): _random_value(rng, depth + 1)
                for _ in range(rng.randint(0, 3))}
    return rng.choice(["", "a", "web", "main", "TCP", "Always", "RollingUpdate"])


def _places(data, path=()):
    yield path, data
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _places(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _places(v, (*path, i))


def _mutate_data(rng: random.Random, text: str) -> bytes | None:
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        return None
    if not docs:
        return None
    for _ in range(rng.randint(1, 3)):
        doc = rng.choice(docs)
        places = [(p, v) for p, v in _places(doc) if p]
        if not places:
            continue
        path, _ = rng.choice(places)
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        op = rng.randrange(4)
        if op == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        elif op == 1 and isinstance(parent, dict):
            parent[rng.choice(["unknown", "x-y", "replicas", "selector", "ports"])] = _random_value(rng)
        else:
            parent[path[-1]] = _random_value(rng)
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True).encode()


def inputs(seed: int, count: int):
    """``count`` mutated inputs, the same for the same ``seed``: (file suffix, bytes)."""
    rng = random.Random(seed)
    corpus = seeds()
    made = 0
    while made < count:
        suffix, text = rng.choice(corpus)
        data = _mutate_data(rng, text) if suffix == ".yaml" and rng.random() < 0.5 else None
        if data is None:
            data = _mutate_text(rng, text)
        if rng.random() < 0.05:
            suffix = ".yaml" if suffix == ".cluster" else ".cluster"
        made += 1
        yield suffix, data


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


def run_one(folder: pathlib.Path, suffix: str, data: bytes, outcome: Outcome) -> None:
    """Every command on one input (a fresh file for each: ``fmt`` rewrites it), recorded in ``outcome``."""
    outcome.inputs += 1
    for command in COMMANDS:
        path = folder / f"input{suffix}"
        path.write_bytes(data)
        argv = [command[0], str(path), *command[1:]]
        out, err = io.StringIO(), io.StringIO()
        started = time.perf_counter()
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
        problem = None
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = cli.main(argv)
        except _Hang:
            problem = f"took more than {HANG_SECONDS:g}s"
        except BaseException as e:          # noqa: BLE001 - anything escaping main is what we look for
            problem = f"raised {type(e).__name__}: {e}"
        else:
            if status not in (0, 1):
                problem = f"exit status {status!r}"
            elif "Traceback" in err.getvalue() or "internal error" in err.getvalue():
                problem = err.getvalue().strip().splitlines()[-1]
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        elapsed = time.perf_counter() - started
        outcome.runs += 1
        outcome.slowest = max(outcome.slowest, elapsed)
        if problem is None and status == 1:
            outcome.refused += 1
        if problem is not None:
            outcome.failures.append((" ".join(command), suffix, data, problem))


def fuzz(seed: int, count: int, folder: pathlib.Path) -> Outcome:
    outcome = Outcome()
    for suffix, data in inputs(seed, count):
        run_one(folder, suffix, data, outcome)
    return outcome


def main(argv=None) -> int:
    """``python -m tests.reconcile.frontends.fuzz SEED COUNT``: one run; prints its counts and failures."""
    import sys
    import tempfile
    args = sys.argv[1:] if argv is None else argv
    seed, count = int(args[0]), int(args[1])
    with tempfile.TemporaryDirectory() as d:
        outcome = fuzz(seed, count, pathlib.Path(d))
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"seed {seed}: {outcome.inputs} inputs, {outcome.runs} runs, {outcome.refused} refused, "
          f"{len(outcome.failures)} failures, slowest {outcome.slowest:.2f}s, peak RSS {peak / 2**20:.0f} MiB")
    for command, suffix, data, problem in outcome.failures[:20]:
        print(f"  {command} ({suffix}): {problem}\n    input: {data[:300]!r}")
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
