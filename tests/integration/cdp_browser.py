"""A headless Chromium driven over the DevTools protocol, for the status page
tests (Debian's chromium and python3-websocket). Started in its own process
group with a temporary profile; close() kills the group by pid."""

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import websocket


class Browser:
    def __init__(self, timeout=30):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="bg-chromium-")
        self.log_path = os.path.join(self.profile, "chromium.log")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--remote-allow-origins=*",
             "--user-data-dir=" + self.profile, "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", "about:blank"],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid
        self._id = 0
        self._events = []
        self.ws = None
        try:
            port = self._wait(self._port, "DevToolsActivePort")
            targets = self._wait(lambda: self._pages(port), "a page target")
            self.ws = websocket.create_connection(targets[0]["webSocketDebuggerUrl"], timeout=timeout,
                                                  suppress_origin=True)
            self.call("Page.enable")
            self.call("Runtime.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=1280, height=1000, deviceScaleFactor=1,
                      mobile=False)
        except Exception:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _port(self):
        try:
            with open(os.path.join(self.profile, "DevToolsActivePort")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    @staticmethod
    def _pages(port):
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=5) as r:
            return [t for t in json.loads(r.read()) if t.get("type") == "page"]

    def _wait(self, fn, what):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("chromium exited: " + self._log_tail())
            v = fn()
            if v:
                return v
            time.sleep(0.05)
        raise TimeoutError("chromium: no %s after %ss: %s" % (what, self.timeout, self._log_tail()))

    def _log_tail(self):
        try:
            with open(self.log_path) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def _recv(self, deadline):
        self.ws.settimeout(max(0.1, deadline - time.monotonic()))
        return json.loads(self.ws.recv())

    def call(self, method, **params):
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = self._recv(deadline)
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self._events.append(msg)
        raise TimeoutError("no answer to " + method)

    def _wait_event(self, name):
        deadline = time.monotonic() + self.timeout
        while True:
            for i, e in enumerate(self._events):
                if e["method"] == name:
                    del self._events[: i + 1]
                    return e
            if time.monotonic() >= deadline:
                raise TimeoutError("no %s: %s" % (name, self._log_tail()))
            msg = self._recv(deadline)
            if "method" in msg:
                self._events.append(msg)

    def goto(self, url):
        self._events.clear()
        self.call("Page.navigate", url=url)
        self._wait_event("Page.loadEventFired")

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError("%s: %s" % (expression, r["exceptionDetails"]))
        return r["result"].get("value")

    def text(self):
        return self.evaluate("document.body.innerText")

    def click(self, selector):
        """Clicks the first match and waits for the page the click leads to
        (a form POST answered with a redirect) to load."""
        self._events.clear()
        if not self.evaluate("(() => { const e = document.querySelector(%s); if (!e) return false; e.click(); "
                             "return true; })()" % json.dumps(selector)):
            raise LookupError("nothing matches " + selector)
        self._wait_event("Page.loadEventFired")

    def screenshot(self, path):
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        with open(path, "wb") as f:
            f.write(data)
        return len(data)

    def close(self):
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:
                pass
            self.ws = None
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.proc.wait(timeout=5)
        try:
            os.killpg(self.pid, signal.SIGKILL)  # helpers left in the group
        except OSError:
            pass
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
