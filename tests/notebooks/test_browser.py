"""notebooks/02-dashboard.ipynb as a person sees it: JupyterLab in headless Chromium runs all its
cells, the dashboard's pod cells appear, and moving the web replicas slider on the page changes
them without running a cell again. The dashboard's picture is taken each run (into the test's
temporary directory); with RECONCILE_SCREENSHOT=1 it replaces docs/img/dashboard.png, the one the
README shows.

JupyterLab runs on 127.0.0.1 only, on a free port with a token, from a temporary copy of the
notebooks, with its configuration, data, runtime and settings directories in a temporary directory
(the labextensions are still found in ``sys.prefix``). Chromium is Debian's (``.ci/run`` installs it);
Playwright only drives it.
"""

import contextlib
import glob
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

from tests.reconcile.frontends.notebook.kernelspec import installed_kernel

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "img" / "dashboard.png"      # updated only with RECONCILE_SCREENSHOT=1
NOTEBOOK = "02-dashboard.ipynb"
WAIT_MS = 60_000                  # the longest a step may take (JupyterLab on 2 busy cores)
SETTINGS = {                      # JupyterLab's user settings for the test's own settings directory
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},    # every cell in the DOM
}
WIDGETS_LABEXTENSION = "@jupyter-widgets/jupyterlab-manager"


def test_the_dashboard_in_jupyterlab_follows_its_replicas_slider(tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium "
                    "(apt-get install chromium) before the tests")
    with installed_kernel(), _jupyterlab(tmp_path) as lab, _browser(tmp_path / "home") as page:
        page.goto(f"{lab.url}/lab/tree/{NOTEBOOK}?token={lab.token}")
        _check_widgets_labextension(page)
        kernel = page.locator('.jp-StatusBar-TextItem[title^="Change kernel"]')
        expect(kernel, "the reconcile kernel is idle").to_have_text("reconcile | Idle", timeout=WAIT_MS)
        code_cells = [c for c in json.loads((REPO / "notebooks" / NOTEBOOK).read_text())["cells"]
                      if c["cell_type"] == "code"]
        expect(page.locator(".jp-Notebook .jp-CodeCell")).to_have_count(len(code_cells))

        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.locator('li[data-command="runmenu:run-all"]').click()
        _wait_for_all_cells(page, lab)
        pods = page.locator(".reconcile-dashboard .reconcile-pod")
        expect(pods, "web 5 + api 2 pods").to_have_count(7)
        expect(page.locator(".reconcile-pod-running")).to_have_count(7)
        _screenshot(page, tmp_path / "dashboard.png")

        prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        handle = page.locator(".reconcile-replicas-web .noUi-handle")
        handle.focus()
        for replicas in (4, 3):
            handle.press("ArrowLeft")
            expect(pods).to_have_count(2 + replicas, timeout=WAIT_MS)
        web = page.locator(".reconcile-workload-web")
        expect(web.locator(".widget-readout")).to_have_text("3")
        expect(web, "the kernel's status of web").to_contain_text("3/3 ready")
        expect(page.locator(".reconcile-dashboard"), "the kernel's header").to_contain_text("5 pods")
        expect(page.locator(".reconcile-pod-running")).to_have_count(5)
        assert page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts() == prompts, "a cell ran again"
        expect(kernel).to_have_text("reconcile | Idle")


def _check_widgets_labextension(page) -> None:
    """JupyterLab found jupyterlab_widgets' labextension (in ``sys.prefix``, not in the temporary
    JUPYTER_DATA_DIR), or the dashboard could only show as text."""
    config = json.loads(page.locator("#jupyter-config-data").text_content(timeout=WAIT_MS))
    names = [e["name"] for e in config.get("federated_extensions", [])]
    assert WIDGETS_LABEXTENSION in names, f"JupyterLab has no {WIDGETS_LABEXTENSION}; its extensions: {names}"


def _wait_for_all_cells(page, lab) -> None:
    """Until every code cell has its execution count (JupyterLab stops a run at an error)."""
    done = """() => {
        const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
        const errors = document.querySelectorAll('.jp-OutputArea-output[data-mime-type*="stderr"]');
        return errors.length > 0 || (prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p.innerText.trim())));
    }"""
    try:
        page.wait_for_function(done, timeout=WAIT_MS)
    except PlaywrightError:
        raise AssertionError(f"the notebook's cells did not all run; the page shows:\n"
                             f"{page.locator('.jp-Notebook').inner_text()[-3000:]}\n"
                             f"JupyterLab's log ends:\n{lab.log_tail()}") from None
    errors = page.locator('.jp-OutputArea-output[data-mime-type*="stderr"]').all_inner_texts()
    assert not errors, f"a cell failed:\n{errors}"


def _screenshot(page, path: Path) -> None:
    """The dashboard alone, with the file browser folded so that it has the page's width."""
    page.locator('.jp-SideBar.jp-mod-left li[data-id="filebrowser"]').click()
    expect(page.locator("#jp-left-stack")).to_be_hidden()
    dashboard = page.locator(".reconcile-dashboard")
    dashboard.evaluate("e => e.scrollIntoView({block: 'start'})")
    dashboard.screenshot(path=path, animations="disabled")
    assert path.stat().st_size > 10_000                  # a picture of something, not a blank
    if os.environ.get("RECONCILE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOT)


@contextlib.contextmanager
def _browser(home: Path):
    """Chromium with a home of its own (its crash reports and dconf would go to ~)."""
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".local" / "share")}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, env=env)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(WAIT_MS)
            yield page
        finally:
            browser.close()


class _Lab:
    def __init__(self, url: str, token: str, log: Path):
        self.url, self.token, self.log = url, token, log

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@contextlib.contextmanager
def _jupyterlab(tmp: Path):
    """JupyterLab serving a copy of notebooks/ on 127.0.0.1; shut down with every process it started."""
    root = tmp / "notebooks"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    dirs = {"JUPYTER_CONFIG_DIR": tmp / "config", "JUPYTER_DATA_DIR": tmp / "data",
            "JUPYTER_RUNTIME_DIR": tmp / "runtime", "JUPYTERLAB_SETTINGS_DIR": tmp / "settings",
            "JUPYTERLAB_WORKSPACES_DIR": tmp / "workspaces"}
    for name, values in SETTINGS.items():
        path = dirs["JUPYTERLAB_SETTINGS_DIR"] / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    lab = _Lab(f"http://127.0.0.1:{port}", token, tmp / "jupyterlab.log")
    with open(lab.log, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root}",
             "--LanguageServerManager.autodetect=False"],          # (it would run npm, which logs to ~)
            env={**os.environ, **{k: str(v) for k, v in dirs.items()}}, cwd=tmp,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_serving(server, lab)
        yield lab
    finally:
        _stop(server)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_serving(server: subprocess.Popen, lab: _Lab, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{lab.url}/api/status?token={lab.token}", timeout=5):
                return
        except OSError:
            if server.poll() is not None:
                raise AssertionError(f"JupyterLab exited ({server.returncode}):\n{lab.log_tail()}") from None
            if time.monotonic() > end:
                raise AssertionError(f"JupyterLab did not answer within {timeout:g}s:\n{lab.log_tail()}") from None
            time.sleep(0.2)


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (it shuts its kernels down), SIGKILL to what outlives it:
    a kernel runs in a session of its own, so it is found as the server's descendant beforehand."""
    children = _descendants(server.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    end = time.monotonic() + 10
    for pid in children:
        while _alive(pid) and time.monotonic() < end:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError):
            ppid = int(Path(stat).read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.split("/")[2]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        return not re.match(r".*\) [ZX] ", Path(f"/proc/{pid}/stat").read_text(), re.S)
    except OSError:
        return False
