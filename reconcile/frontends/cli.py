"""The ``reconcile`` command.

    reconcile check FILE...           validate .cluster and Kubernetes YAML files
    reconcile fmt FILE... [--check]   rewrite .cluster files in canonical form
                                      (the comment block at the top is kept)
    reconcile convert FILE --to yaml|dsl
    reconcile plan FILE [--state DIR]   what applying FILE would create, change, delete
    reconcile sim FILE                  run FILE in the simulator; print the pods per node
    reconcile up FILE [--state DIR]     run FILE on Ray (a local Ray unless --address) until Ctrl-C
    reconcile down [--state DIR]        stop a cluster brought up with --detach (or left behind)
    reconcile logs POD [-f] [--tail N]  a running pod's container log

Errors are printed as ``file:line:column: message`` with the line and a
caret; the exit status is 1 when anything was wrong, 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]

def _read(path: str) -> str:
    import dsl
    return dsl.read_file(path)


def _load(path: str):
    import dsl
    return dsl.load_file(path)


def _report(path: str, e: BaseException) -> None:
    """One error as the user sees it: the language's and the file's errors render themselves
    (``file:line:column: message``); anything else is a bug, said in one line that names the file."""
    import dsl
    if isinstance(e, dsl.DslError):
        print(e.render(), file=sys.stderr)
    elif isinstance(e, OSError):
        print(f"{path}: {e.strerror or e}", file=sys.stderr)
    elif isinstance(e, ValueError):
        print(f"{path}: {e}", file=sys.stderr)
    else:   # a bug of ours: say so in one line, not a traceback
        print(f"{path}: internal error ({type(e).__name__}: {e}); please report it", file=sys.stderr)


def _load_or_report(path: str):
    """The file's objects, or None after printing its errors."""
    try:
        return _load(path)
    except Exception as e:
        _report(path, e)
        return None


def _cmd_check(args) -> int:
    status = 0
    for path in args.files:
        try:
            manifest = _load(path)
        except Exception as e:
            _report(path, e)
            status = 1
            continue
        if not args.quiet:
            kinds: dict = {}
            for o in manifest:
                kinds[o.kind] = kinds.get(o.kind, 0) + 1
            summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "empty"
            print(f"{path}: ok ({summary})")
    return status


def _cmd_fmt(args) -> int:
    import dsl
    status = 0
    for path in args.files:
        try:
            text = _read(path)
            formatted = _header(text) + dsl.format(dsl.parse(text, "<stdin>" if path == "-" else path))
        except Exception as e:
            _report(path, e)
            status = 1
            continue
        if path == "-":
            sys.stdout.write(formatted)
        elif formatted != text:
            if args.check:
                print(f"would reformat {path}")
                status = 1
                continue
            try:
                dsl.write_file(path, formatted)      # atomically: a full disk leaves the file as it was
            except OSError as e:
                _report(path, e)
                status = 1
                continue
            print(f"reformatted {path}")
    return status


def _header(text: str) -> str:
    """The comment block at the top of a file, which ``fmt`` keeps (followed by one blank line)."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            lines.append(stripped)
        elif stripped:
            break
        elif lines and lines[-1] != "":
            lines.append("")
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n\n" if lines else ""


def _cmd_convert(args) -> int:
    import dsl
    try:
        manifest = _load(args.file)
        if args.to == "yaml":
            out = dsl.to_yaml(manifest)
        else:
            out = dsl.format(manifest)
            for problem in dsl.lossy_fields(manifest):
                print(f"warning: the language cannot express {problem}", file=sys.stderr)
    except Exception as e:
        _report(args.file, e)
        return 1
    if args.output:
        try:
            dsl.write_file(args.output, out)      # atomically: a failed write leaves OUT as it was
        except OSError as e:
            _report(args.output, e)
            return 1
    else:
        sys.stdout.write(out)
    return 0


def _cmd_plan(args) -> int:
    import os
    from reconcile.frontends.plan import format_plan, plan
    from reconcile.state.snapshot import EMPTY
    manifest = _load_or_report(args.file)
    if manifest is None:
        return 1
    snapshot = EMPTY
    db = os.path.join(args.state, "state.db")
    if os.path.exists(db):
        from reconcile.state.durable import SqliteBackend
        from reconcile.state.store import Store
        store = Store(clock=lambda: 0.0, backend=SqliteBackend(db, readonly=True))   # a running cluster owns it
        snapshot = store.snapshot()
        store.close()
    for line in format_plan(plan(manifest, snapshot, prune=args.prune)):
        print(line)
    return 0


def _cmd_sim(args) -> int:
    from reconcile.sim import SimCluster, default_nodes
    manifest = _load_or_report(args.file)
    if manifest is None:
        return 1
    sim = SimCluster(seed=args.seed)
    if not any(o.kind == "Node" for o in manifest):
        manifest = (*default_nodes(), *manifest)
        print("(the file has no nodes: simulating node-1..node-3 with 4 cpu, 8Gi, 110 pods each)")
    sim.apply(manifest)
    if args.seconds is None:
        print(f"settled after {sim.run_until_stable(quiet=args.quiet):.1f}s of simulated time")
    else:
        sim.advance(args.seconds)
        print(f"ran {args.seconds:g}s of simulated time")
    for node, pods in sorted(sim.pods_by_node().items()):
        print(f"{node}:")
        for name in pods:
            p = next(x for x in sim.list("Pod") if x.name == name)
            ready = "ready" if any(c.get("type") == "Ready" and c.get("status") == "True"
                                   for c in p.status.get("conditions") or ()) else "not ready"
            print(f"  {p.metadata.namespace}/{name}  {p.status.get('phase', 'Pending')}  {ready}")
    warnings = [e for e in sim.events() if e.type == "Warning"]
    for e in warnings[-10:]:
        print(f"warning: {e.reason}: {e.message}")
    return 0


def _cmd_up(args) -> int:
    manifest = _load_or_report(args.file)
    if manifest is None:
        return 1                    # a file with errors starts nothing
    from cluster_ray.up import up
    return up(manifest, args.file, args.state, address=args.address, detach=args.detach,
              num_cpus=args.num_cpus, node_grace=args.node_grace, eviction_timeout=args.eviction_timeout)


def _cmd_down(args) -> int:
    from cluster_ray.up import down
    return down(args.state)


def _cmd_logs(args) -> int:
    from cluster_ray.up import logs
    return logs(args.state, args.pod, args.namespace, args.container, args.tail, args.follow, args.address)


def _cmd_kernel(args) -> int:
    from reconcile.frontends.notebook.kernel import install
    where = install(user=args.user, prefix=args.prefix, sys_prefix=args.sys_prefix)
    print(f"Installed the reconcile kernel in {where}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from reconcile import __version__
    p = argparse.ArgumentParser(
        prog="reconcile",
        description="A small Kubernetes in Python: describe a cluster in the reconcile language "
                    "(.cluster files) or Kubernetes YAML, check it, format it and convert it.")
    p.add_argument("--version", action="version", version=f"reconcile {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    c = sub.add_parser("check", help="validate .cluster and Kubernetes YAML files",
                       description="Parse and validate each file; print every error with its line "
                                   "and column. Exit status 1 if any file has an error.")
    c.add_argument("files", nargs="+", metavar="FILE", help="a .cluster file, a .yaml file, or - for stdin")
    c.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    c.set_defaults(func=_cmd_check)

    f = sub.add_parser("fmt", help="rewrite .cluster files in canonical form",
                       description="Rewrite each file in the canonical form of the language "
                                   "(what dsl.format prints). A file with errors is left unchanged.")
    f.add_argument("files", nargs="+", metavar="FILE", help="a .cluster file, or - for stdin to stdout")
    f.add_argument("--check", action="store_true",
                   help="change nothing; exit 1 and name the files that are not canonical")
    f.set_defaults(func=_cmd_fmt)

    v = sub.add_parser("convert", help="convert between the language and Kubernetes YAML",
                       description="Read a .cluster or Kubernetes YAML file and print it as the "
                                   "other. Converting to the language warns about any field the "
                                   "language cannot express.")
    v.add_argument("file", metavar="FILE", help="a .cluster or .yaml file, or - for stdin (read as .cluster)")
    v.add_argument("--to", choices=("yaml", "dsl"), required=True, help="the output format")
    v.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of stdout")
    v.set_defaults(func=_cmd_convert)
    pl = sub.add_parser("plan", help="show what applying a file would create, change and delete",
                        description="Compare a .cluster or YAML file with the cluster state in a data "
                                    "directory (like terraform plan). Changes nothing.")
    pl.add_argument("file", metavar="FILE")
    pl.add_argument("--state", metavar="DIR", default=".reconcile",
                    help="the data directory of the cluster (default .reconcile; empty if missing)")
    pl.add_argument("--prune", action="store_true",
                    help="also show objects of the file's kinds that the file no longer names as deletions")
    pl.set_defaults(func=_cmd_plan)

    sm = sub.add_parser("sim", help="run a file in the simulator and print the pods per node",
                        description="Apply the file to a simulated cluster (virtual clock, simulated "
                                    "nodes), run it until it settles, and print where the pods run.")
    sm.add_argument("file", metavar="FILE")
    sm.add_argument("--seed", type=int, default=0, help="the simulation's seed (default 0)")
    sm.add_argument("--seconds", type=float, default=None, help="run this long instead of until settled")
    sm.add_argument("--quiet", type=float, default=60.0,
                    help="settled means no change for this many simulated seconds (default 60)")
    sm.set_defaults(func=_cmd_sim)

    u = sub.add_parser("up", help="run a file's cluster on Ray until Ctrl-C",
                       description="Start a local Ray (or join one with --address or RAY_ADDRESS), bring "
                                   "up the control plane with its store in the data directory, apply the "
                                   "file and show the cluster live. Ctrl-C stops every pod and the Ray it "
                                   "started. Running it again with the same data directory adopts the pods "
                                   "of a control plane that died.")
    u.add_argument("file", metavar="FILE")
    u.add_argument("--state", metavar="DIR", default=".reconcile", help="the data directory (default .reconcile)")
    u.add_argument("--address", metavar="ADDR", help="the Ray cluster to join (default: RAY_ADDRESS, else a "
                                                     "local Ray of this data directory's own)")
    u.add_argument("--detach", action="store_true", help="run in the background; 'reconcile down' stops it")
    u.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray (default: all)")
    u.add_argument("--node-grace", type=float, default=10.0, metavar="SECONDS",
                   help="a node silent this long is marked NotReady/Unknown (default 10; Kubernetes: 40)")
    u.add_argument("--eviction-timeout", type=float, default=5.0, metavar="SECONDS",
                   help="then its pods are evicted after this long (default 5; Kubernetes: 300)")
    u.set_defaults(func=_cmd_up)

    d = sub.add_parser("down", help="stop a cluster that runs in the background",
                       description="Stop the control plane of the data directory, every pod, and the "
                                   "local Ray it started; no process of it is left.")
    d.add_argument("--state", metavar="DIR", default=".reconcile", help="the data directory (default .reconcile)")
    d.set_defaults(func=_cmd_down)

    lg = sub.add_parser("logs", help="print a running pod's container log",
                        description="Print the log of a container of a pod of the cluster in the data "
                                    "directory (like kubectl logs).")
    lg.add_argument("pod", metavar="POD")
    lg.add_argument("-n", "--namespace", default="default")
    lg.add_argument("-c", "--container", default=None, help="the container (default: the pod's first)")
    lg.add_argument("--tail", type=int, default=None, help="only the last N lines")
    lg.add_argument("-f", "--follow", action="store_true", help="keep printing new lines until Ctrl-C")
    lg.add_argument("--state", metavar="DIR", default=".reconcile", help="the data directory (default .reconcile)")
    lg.add_argument("--address", metavar="ADDR", help="the Ray cluster (default: the data directory's own)")
    lg.set_defaults(func=_cmd_logs)

    k = sub.add_parser("kernel", help="the reconcile Jupyter kernel",
                       description="Manage the Jupyter kernel whose cells are the cluster language.")
    ksub = k.add_subparsers(dest="kernel_command", metavar="ACTION")
    ksub.required = True
    ki = ksub.add_parser("install", help="install the kernelspec (like 'jupyter kernelspec install')",
                         description="Install the 'reconcile' kernelspec for Jupyter (the system-wide "
                                     "Jupyter path unless --user, --sys-prefix or --prefix says otherwise).")
    where = ki.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="for the current user only")
    where.add_argument("--sys-prefix", action="store_true", help="in this Python's prefix (a virtualenv's)")
    where.add_argument("--prefix", metavar="PREFIX", help="under PREFIX/share/jupyter/kernels")
    ki.set_defaults(func=_cmd_kernel)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader went away (| head): not an error worth a traceback
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:
        print(f"reconcile: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
