"""The dashboard: a live picture of the cluster in a notebook, with the controls of its commands.

``dashboard`` (the command) shows a :class:`Dashboard`: a row per Deployment
and StatefulSet (a replicas slider, a rollout bar, ``restart`` and ``undo``),
a column per node (its status, ``cordon``, ``drain``, and in the simulator
``fail`` and ``recover``) holding its pods as coloured cells, a column of the
pods no node has taken yet, and the last events. It follows the cluster
through :meth:`Session.on_change`, so it stays current without re-running the
cell, and every control calls the same :class:`Session` method as the
command of the language does (the slider is ``scale``, the buttons are
``rollout restart``, ``cordon``, ``drain``, ``fail``...).

Deciding what a pod or a node looks like is pure (:func:`pod_state`,
:func:`node_status`); the :class:`Dashboard` only keeps its widgets equal to
that, reusing the widget of every row, column and cell that is still there.

>>> from reconcile.api.model import Pod
>>> pod_state(Pod.new("web-1", "default", status={"phase": "Pending"}))
'pending'
>>> pod_state(Pod.new("web-1", "default", status={"phase": "Running", "conditions": [
...     {"type": "Ready", "status": "False"}]}))
'not-ready'
"""

from __future__ import annotations

import html
import threading
from typing import TYPE_CHECKING, Callable

import ipywidgets as w

from reconcile.api.errors import ReconcileError
from reconcile.api.model import KObject
from reconcile.frontends.notebook.commands import SessionError
from reconcile.frontends.notebook.views import node_status, pod_ready, pod_status, rollout_status

if TYPE_CHECKING:          # (the session makes dashboards; a dashboard only calls it)
    from reconcile.frontends.notebook.session import Session


__all__ = ["Dashboard", "pod_state", "node_status", "PENDING", "COLOURS"]

PENDING = "<pending>"             # the column of pods no node has taken (as SimCluster.pods_by_node names it)
COLOURS = {                       # a pod cell's background, by its state
    "running": "#2e7d32", "not-ready": "#f9a825", "pending": "#9e9e9e",
    "failed": "#c62828", "succeeded": "#1565c0", "terminating": "#ef6c00",
}
_STARTING = {"Pending", "ContainerCreating", "PodInitializing"}
_POD_CLASSES = {f"reconcile-pod-{s}" for s in COLOURS}
_NODE_CLASSES = {"reconcile-node-ready", "reconcile-node-notready", "reconcile-node-cordoned",
                 "reconcile-node-failed"}
_WORKLOADS = ("Deployment", "StatefulSet")

_CSS = """<style>
.reconcile-dashboard .reconcile-pod-cell{font:11px monospace;padding:1px 5px;margin:1px 0;border-radius:3px;
  color:#fff;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:190px}
.reconcile-dashboard .reconcile-pod-not-ready .reconcile-pod-cell{color:#000}
.reconcile-dashboard .reconcile-pod-terminating .reconcile-pod-cell{background-image:repeating-linear-gradient(
  45deg,transparent 0 5px,rgba(255,255,255,.4) 5px 10px)}
.reconcile-dashboard .reconcile-node,.reconcile-dashboard .reconcile-pending{border:1px solid #bbb;
  border-radius:4px;padding:4px;margin:0 6px 6px 0;min-width:200px}
.reconcile-dashboard .reconcile-node-notready{background:#fdecea}
.reconcile-dashboard .reconcile-node-cordoned{border-style:dashed}
.reconcile-dashboard .reconcile-node button{width:auto;padding:0 6px}
</style>"""


def pod_state(pod: KObject) -> str:
    """What a pod's cell shows, one of :data:`COLOURS`: ``running`` (and ready), ``not-ready``,
    ``pending``, ``failed`` (also a container crash-looping or failing to start), ``succeeded``
    or ``terminating``."""
    status = pod_status(pod)
    if status == "Terminating":
        return "terminating"
    if status == "Completed":
        return "succeeded"
    if status == "Running":
        return "running" if pod_ready(pod) else "not-ready"
    return "pending" if status in _STARTING else "failed"


def _label(obj_key: tuple) -> str:
    """How the accessors name an object: its name, or ``namespace/name`` outside ``default``."""
    _, namespace, name = obj_key
    return name if namespace in (None, "default") else f"{namespace}/{name}"


def _css(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


def _button(description: str, tooltip: str, css: str, on_click: Callable[[], None]) -> w.Button:
    b = w.Button(description=description, tooltip=tooltip, layout=w.Layout(width="auto"))
    b.add_class(css)
    b.on_click(lambda _: on_click())
    return b


def _set_children(box: w.Box, children) -> None:
    children = tuple(children)
    if box.children != children:
        box.children = children


def _set_classes(widget: w.DOMWidget, family: set[str], wanted: set[str]) -> None:
    """Make ``widget``'s classes of ``family`` exactly ``wanted``."""
    current = set(widget._dom_classes) & family
    for c in current - wanted:
        widget.remove_class(c)
    for c in wanted - current:
        widget.add_class(c)


def _close_tree(widget: w.Widget) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()


class _Row:
    """The widgets of one workload: title, replicas slider, rollout bar, status, restart, undo."""

    def __init__(self, dashboard: "Dashboard", obj: KObject):
        kind, namespace, name = key = obj.key
        css = _css(_label(key))
        self.slider = w.IntSlider(min=0, max=10, description="replicas", continuous_update=False)
        self.slider.add_class("reconcile-replicas")
        self.slider.add_class(f"reconcile-replicas-{css}")
        self.slider.observe(lambda change: dashboard._scale(key, change["new"]), names="value")
        self.bar = w.IntProgress(min=0, max=1, description="rollout")
        self.bar.add_class(f"reconcile-rollout-{css}")
        self.status = w.HTML()
        self.buttons = {
            "restart": _button("restart", f"rollout restart {kind.lower()} {name}", f"reconcile-restart-{css}",
                               lambda: dashboard._rollout("restart", key)),
            "undo": _button("undo", f"rollout undo {kind.lower()} {name}", f"reconcile-undo-{css}",
                            lambda: dashboard._rollout("undo", key)),
        }
        if kind != "Deployment":
            self.buttons["undo"].disabled = True
            self.buttons["undo"].tooltip = "rollout undo works on deployments"
        where = "" if namespace == "default" else f"{namespace}/"
        title = w.HTML(f"<b>{html.escape(kind.lower())}/{html.escape(where + name)}</b>",
                       layout=w.Layout(width="220px"))
        self.box = w.HBox([title, self.slider, self.bar, self.status, *self.buttons.values()])
        self.box.add_class("reconcile-workload")
        self.box.add_class(f"reconcile-workload-{css}")

    def show(self, obj: KObject) -> None:
        want = obj.spec.get("replicas", 1)
        self.slider.max = max(self.slider.max, 10, 2 * want)
        self.slider.value = want
        try:
            done, message = rollout_status(obj)
            style = "success" if done else "info"
        except SessionError as e:               # (its progress deadline is exceeded)
            done, message, style = False, str(e), "danger"
        self.bar.max = max(want, 1)
        self.bar.value = self.bar.max if done else min(obj.status.get("updatedReplicas", 0), want)
        self.bar.bar_style = style
        self.bar.tooltip = message
        ready = obj.status.get("readyReplicas", 0)
        self.status.value = f'<span title="{html.escape(message)}">{ready}/{want} ready</span>'


class _Column:
    """The widgets of one node (or of the pending pods): a header, buttons, the pods' cells."""

    def __init__(self, dashboard: "Dashboard", node: str | None):
        self.header = w.HTML()
        self.cells = w.VBox()
        self.buttons: dict[str, w.Button] = {}
        if node is None:
            self.box = w.VBox([self.header, self.cells])
            self.box.add_class("reconcile-pending")
            return
        css = _css(node)
        self.buttons = {
            "cordon": _button("cordon", f"cordon node {node} (or uncordon it)", f"reconcile-cordon-{css}",
                              lambda: dashboard._act(lambda: dashboard._toggle_cordon(node))),
            "drain": _button("drain", f"drain node {node}: cordon it and evict its pods", f"reconcile-drain-{css}",
                             lambda: dashboard._act(lambda: dashboard.session.drain(node))),
            "fail": _button("fail", f"the simulator: node {node}'s machine dies", f"reconcile-fail-{css}",
                            lambda: dashboard._act(lambda: dashboard.session.fail(node))),
            "recover": _button("recover", f"the simulator: node {node}'s machine comes back",
                               f"reconcile-recover-{css}",
                               lambda: dashboard._act(lambda: dashboard.session.recover(node))),
        }
        self.box = w.VBox([self.header, w.HBox(list(self.buttons.values())), self.cells])
        self.box.add_class("reconcile-node")
        self.box.add_class(f"reconcile-node-{css}")

    def show_node(self, node: KObject, pods: int, can_fail: bool, failed: bool) -> str:
        status = node_status(node)
        self.header.value = (f"<b>{html.escape(node.name)}</b><br>{html.escape(status)}"
                             f"{' (failed)' if failed else ''} &middot; {pods} pods")
        cordoned = bool(node.spec.get("unschedulable"))
        self.buttons["cordon"].description = "uncordon" if cordoned else "cordon"
        self.buttons["fail"].layout.display = "" if can_fail and not failed else "none"
        self.buttons["recover"].layout.display = "" if failed else "none"
        _set_classes(self.box, _NODE_CLASSES, {"reconcile-node-ready" if status.startswith("Ready")
                                               else "reconcile-node-notready"}
                     | ({"reconcile-node-cordoned"} if cordoned else set())
                     | ({"reconcile-node-failed"} if failed else set()))
        return status


class Dashboard(w.VBox):
    """A live dashboard of ``session``'s cluster (see the module's docstring); ``events``: how many of
    the last events it lists. :meth:`close` stops it following the cluster.

    For tests and scripts: :meth:`pod_cells`, :meth:`node_status`, :attr:`sliders`,
    :attr:`rollout_bars`, :attr:`workload_buttons`, :attr:`node_buttons`, :attr:`events_html`,
    :attr:`error` (an HTML line) and :attr:`last_error` (its text, or None).
    """

    def __init__(self, session: Session, events: int = 10):
        super().__init__()
        self.session = session
        self.events_limit = events
        self.last_error: str | None = None
        self._rows: dict[tuple, _Row] = {}
        self._columns: dict[str, _Column] = {}
        self._cells: dict[tuple, w.HTML] = {}
        self._shown: dict[tuple, tuple[str, str]] = {}      # pod key -> (column, state)
        self._status: dict[str, str] = {}                   # node -> its STATUS
        self._lock = threading.RLock()
        self._quiet = threading.local()                     # set while the cluster's state is being shown
        self._seen = None
        self._closed = False
        self.header = w.HTML()
        self.error = w.HTML()
        self.error.add_class("reconcile-error")
        self.events_html = w.HTML()
        self.events_html.add_class("reconcile-events")
        self._workloads = w.VBox()
        self._workloads.add_class("reconcile-workloads")
        self._pending = _Column(self, None)
        self._nodes = w.HBox(layout=w.Layout(flex_flow="row wrap", align_items="flex-start"))
        self._nodes.add_class("reconcile-nodes")
        self.children = (w.HTML(_CSS), self.header, self.error, self._workloads, self._nodes, self.events_html)
        self.add_class("reconcile-dashboard")
        self.refresh()
        self._unsubscribe = session.on_change(self._changed)

    # -- accessors
    @property
    def sliders(self) -> dict[str, w.IntSlider]:
        return self._by_label({k: r.slider for k, r in self._rows.items()})

    @property
    def rollout_bars(self) -> dict[str, w.IntProgress]:
        return self._by_label({k: r.bar for k, r in self._rows.items()})

    @property
    def workload_buttons(self) -> dict[str, dict[str, w.Button]]:
        return self._by_label({k: r.buttons for k, r in self._rows.items()})

    @property
    def node_buttons(self) -> dict[str, dict[str, w.Button]]:
        """{node: {"cordon", "drain", "fail", "recover": Button}} (fail and recover are hidden
        outside the simulator, and the one that does not apply is hidden in it)."""
        return {n: c.buttons for n, c in self._columns.items()}

    def pod_cells(self) -> dict[str, tuple[str, str]]:
        """{pod: (its column: a node's name or :data:`PENDING`, its state: see :func:`pod_state`)}."""
        return {_label(k): v for k, v in sorted(self._shown.items())}

    def node_status(self) -> dict[str, str]:
        """{node: its STATUS as the dashboard shows it (``Ready``, ``NotReady,SchedulingDisabled``...)}."""
        return dict(self._status)

    @staticmethod
    def _by_label(by_key: dict[tuple, object]) -> dict[str, object]:
        """Keyed by name; a StatefulSet sharing a Deployment's name is ``statefulset/NAME``."""
        names = [_label(k) for k in by_key]
        return {(_label(k) if names.count(_label(k)) == 1 or k[0] == "Deployment"
                 else f"{k[0].lower()}/{_label(k)}"): v for k, v in sorted(by_key.items())}

    # -- following the cluster
    def _changed(self, session: Session) -> None:
        try:
            self.refresh()
        except Exception as e:                  # shown, never raised into the cluster's thread
            self._show_error(f"the dashboard could not update: {e!r}")

    def refresh(self, force: bool = False) -> None:
        """Show the cluster as it is now (only what changed since the last time is sent)."""
        with self._lock:
            cluster = self.session.cluster
            if cluster is None or self._closed:
                return
            snap = self.session.snapshot()
            if (id(cluster), snap.revision) == self._seen and not force:
                return
            self._seen = (id(cluster), snap.revision)
            self._quiet.on = True
            try:
                self._show_workloads(snap)
                self._show_nodes(snap)
                self.header.value = self._header(snap)
                self.events_html.value = self.session.events(self.events_limit)._repr_html_()
            finally:
                self._quiet.on = False

    def _header(self, snap) -> str:
        s = self.session
        where = s.cluster.describe(brief=True)
        return (f"<b>cluster</b>: {html.escape(where)} &middot; {snap.count('Node')} nodes &middot; "
                f"{snap.count('Pod')} pods &middot; revision {snap.revision}")

    def _show_workloads(self, snap) -> None:
        objs = sorted((o for kind in _WORKLOADS for o in snap.list(kind)), key=lambda o: (o.namespace, o.name))
        for o in objs:
            if o.key not in self._rows:
                self._rows[o.key] = _Row(self, o)
            self._rows[o.key].show(o)
        self._drop(self._rows, {o.key for o in objs}, lambda row: row.box)
        _set_children(self._workloads, [self._rows[o.key].box for o in objs])

    def _show_nodes(self, snap) -> None:
        nodes = sorted(snap.list("Node"), key=lambda n: n.name)
        pods = sorted(snap.list("Pod"), key=lambda p: (p.namespace, p.name))
        names = {n.name for n in nodes}
        by_column: dict[str, list[KObject]] = {n: [] for n in names}
        by_column[PENDING] = []
        for p in pods:
            node = p.spec.get("nodeName")
            by_column[node if node in names else PENDING].append(p)
        for n in nodes:
            if n.name not in self._columns:
                self._columns[n.name] = _Column(self, n.name)
            self._status[n.name] = self._columns[n.name].show_node(
                n, len(by_column[n.name]), self.session.cluster.can_fail_nodes, self.session.failed(n.name))
        self._drop(self._columns, names, lambda column: column.box)
        self._status = {n: s for n, s in self._status.items() if n in names}
        self._pending.header.value = f"<b>pending</b><br>not on a node &middot; {len(by_column[PENDING])} pods"
        shown = {}
        for column, members in by_column.items():
            for p in members:
                shown[p.key] = (column, self._show_pod(p, column))
            target = self._pending if column == PENDING else self._columns[column]
            _set_children(target.cells, [self._cells[p.key] for p in members])
        self._drop(self._cells, set(shown), lambda cell: cell)
        self._shown = shown
        _set_children(self._nodes, [*(self._columns[n.name].box for n in nodes), self._pending.box])

    def _show_pod(self, pod: KObject, column: str) -> str:
        state = pod_state(pod)
        cell = self._cells.get(pod.key)
        if cell is None:
            cell = self._cells[pod.key] = w.HTML()
            cell.add_class("reconcile-pod")
        where = "not scheduled" if column == PENDING else f"on {column}"
        tip = f"{_label(pod.key)}: {pod_status(pod)}{'' if state != 'not-ready' else ' (not ready)'}, {where}"
        cell.tooltip = tip
        cell.value = (f'<div class="reconcile-pod-cell" data-pod="{html.escape(_label(pod.key))}" '
                      f'title="{html.escape(tip)}" style="background-color:{COLOURS[state]}">'
                      f"{html.escape(pod.name)}</div>")
        _set_classes(cell, _POD_CLASSES, {f"reconcile-pod-{state}"})
        return state

    @staticmethod
    def _drop(widgets: dict, keep: set, widget_of: Callable) -> None:
        """Close and forget the widgets whose object is gone."""
        for key in [k for k in widgets if k not in keep]:
            _close_tree(widget_of(widgets.pop(key)))

    # -- the controls: every one is a Session method
    def _scale(self, key: tuple, replicas: int) -> None:
        if getattr(self._quiet, "on", False):   # the cluster moved the slider: nothing to do
            return
        kind, namespace, name = key
        self._act(lambda: self.session.scale(name, replicas, kind=kind, namespace=namespace), waits=True)

    def _rollout(self, action: str, key: tuple) -> None:
        kind, namespace, name = key
        self._act(lambda: self.session.rollout(action, name, kind=kind, namespace=namespace), waits=True)

    def _toggle_cordon(self, node: str) -> None:
        cordoned = self.session.find("Node", node).spec.get("unschedulable")
        (self.session.uncordon if cordoned else self.session.cordon)(node)

    def _act(self, do: Callable[[], object], waits: bool = False) -> None:
        """Carry out a control's command; one that waits for the cluster (``scale``, ``rollout``) runs
        in a thread on Ray, so the kernel's widget messages are not held up meanwhile."""
        self._show_error(None)
        if waits and not self.session.cluster.virtual_clock:
            threading.Thread(target=self._carry_out, args=(do,), name="reconcile-dashboard", daemon=True).start()
        else:
            self._carry_out(do)

    def _carry_out(self, do: Callable[[], object]) -> None:
        try:
            do()
        except Exception as e:                  # shown in the dashboard, never raised into the comm handler
            self._show_error(str(e).strip("'\"") if isinstance(e, (ReconcileError, ValueError)) else repr(e))
            self.refresh(force=True)            # (put a slider back where the cluster is)

    def _show_error(self, message: str | None) -> None:
        self.last_error = message
        self.error.value = "" if message is None else (
            f'<span style="color:#c62828">&#9888; {html.escape(message)}</span>')

    def __repr__(self) -> str:
        """The ``text/plain`` twin of the widget: what it shows, in a line."""
        cells = self.pod_cells()
        return (f"<reconcile dashboard: {len(self.node_status())} nodes, {len(cells)} pods, "
                f"{sum(1 for _, state in cells.values() if state == 'running')} running and ready>")

    def close(self) -> None:
        """Stop following the cluster and close every widget of the dashboard."""
        self._closed = True
        self._unsubscribe()
        for child in self.children:
            _close_tree(child)
        super().close()
