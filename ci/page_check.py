#!/usr/bin/env python3
"""Opens a page in headless Chromium as a person would, fails on console errors,
and saves a screenshot.

    python3 ci/page_check.py --browser /usr/bin/chromium --page target/ipc-report/index.html \
        --screenshot target/ipc-report/index.png [--min-text 200] [--expect-selector table]

It drives Chromium over the DevTools protocol (a minimal WebSocket client from
the standard library, so nothing to install) and collects, until the page has
loaded and painted twice:
  - uncaught exceptions (Runtime.exceptionThrown),
  - console.error / console.assert calls (Runtime.consoleAPICalled),
  - browser-side errors: failed loads, blocked resources, CSP (Log.entryAdded, level error).
Any of them fails the check (exit 1); warnings are printed. The page must also
show something: at least --min-text characters of text and, per
--expect-selector, at least one matching element. Every wait is bounded.

With --expect clean|blocked|executed it also watches what the page's content
does (ci/check-page-payloads.sh): every request the page makes (the network
domain, and an HTTP listener on 127.0.0.1:--listen that payloads aim at),
every script that runs (a payload sets document.title or window.__ipcExecuted,
logs EXECUTED, or requests the listener), and every Content-Security-Policy
violation (securitypolicyviolation events and the browser's reports), after
it has clicked every link and waited for late loads.
  clean     nothing ran, nothing was requested, nothing was blocked (a report
            page with payloads in every field: all of them are text);
  blocked   nothing ran and nothing was requested, and the policy blocked
            something (a control page with the payloads as markup, under the
            report's policy: the policy holds, and is seen doing so);
  executed  something ran or was requested (a control page without a policy:
            the watching sees an attack that works).
"""

import argparse
import base64
import http.server
import json
import os
import pathlib
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


class WebSocket:
    """Just enough of RFC 6455 for one DevTools session (text frames, client side)."""

    def __init__(self, url, timeout):
        assert url.startswith("ws://"), url
        hostport, _, path = url[len("ws://"):].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port or 80)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (
            f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        head, _, self.buf = head.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise ConnectionError(f"WebSocket handshake refused: {status.decode(errors='replace')}")

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("DevTools connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def recv(self):
        """The next text message (continuation frames joined; pings answered)."""
        message = b""
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if b0 & 0x80:
                    return message.decode()


class Session:
    def __init__(self, ws, deadline):
        self.ws, self.deadline, self.next_id, self.events = ws, deadline, 0, []

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            self._check_deadline(method)
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_event(self, method):
        for i, ev in enumerate(self.events):
            if ev["method"] == method:
                return self.events.pop(i)
        while True:
            self._check_deadline(f"waiting for {method}")
            msg = json.loads(self.ws.recv())
            if msg.get("method") == method:
                return msg
            if "method" in msg:
                self.events.append(msg)

    def _check_deadline(self, what):
        if time.monotonic() > self.deadline:
            raise TimeoutError(f"page check timed out ({what})")


# Installed in the page before any of its own content runs (DevTools injects
# it; the page's policy does not apply to it): records policy violations.
WATCH = """
window.__ipcViolations = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__ipcViolations.push(e.violatedDirective + ' ' + (e.blockedURI || '')), true);
"""


class Listener:
    """An HTTP server on 127.0.0.1:port that records every request it gets."""

    def __init__(self, port):
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self):
                hits.append(f"{self.command} {self.path}")
                self.send_response(204)
                self.end_headers()

            do_GET = do_POST = do_HEAD = do_OPTIONS = _record

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def watch_payloads(cdp, page, listener):
    """Clicks every link, waits for late loads, and returns what ran, what was
    requested and what the policy blocked."""
    cdp.call("Runtime.evaluate", awaitPromise=True, expression="""(async () => {
        for (const a of document.querySelectorAll('a, [onclick], button')) {
            try { a.click(); } catch (e) {}
        }
        await new Promise(r => setTimeout(r, 1500));
        return 1;
    })()""")
    state = cdp.call("Runtime.evaluate", returnByValue=True, expression="""(() => ({
        title: document.title,
        executed: !!window.__ipcExecuted,
        violations: window.__ipcViolations || [],
        location: location.href,
    }))()""")["result"]["value"]
    ran, requested, blocked = [], [], list(state["violations"])
    if state["executed"]:
        ran.append("window.__ipcExecuted was set")
    if "EXECUTED" in state["title"]:
        ran.append(f"document.title became {state['title']!r}")
    if state["location"].split("#")[0] != page.split("#")[0]:
        requested.append(f"the page navigated to {state['location']}")
    # A request the browser refused before sending it (the policy's blockedReason
    # "csp") is blocked, not requested; data: URLs are the browser's own (the
    # broken-image icon), never a load from outside.
    urls, refused = {}, set()
    for ev in cdp.events:
        method, params = ev["method"], ev.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if url.split("#")[0] != page.split("#")[0] and not url.startswith("data:"):
                urls.setdefault(params.get("requestId"), url)
        elif method == "Network.loadingFailed" and params.get("blockedReason"):
            refused.add(params.get("requestId"))
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", "")) for a in params.get("args", []))
            if "EXECUTED" in text:
                ran.append(f"console: {text}")
        elif method == "Log.entryAdded":
            text = params.get("entry", {}).get("text", "")
            if "Content Security Policy" in text:
                blocked.append(text)
    for rid, url in urls.items():
        if rid in refused:
            blocked.append(f"refused request {url}")
        else:
            requested.append(f"request {url}")
    requested += [f"the listener got {h}" for h in (listener.hits if listener else [])]
    return ran, requested, blocked


def find_browser(explicit):
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("page check: no Chromium found (install Debian's chromium, or pass --browser)")


def describe_exception(details):
    exc = details.get("exception") or {}
    text = exc.get("description") or details.get("text", "exception")
    where = f"{details.get('url', '')}:{details.get('lineNumber', 0) + 1}"
    return f"uncaught exception at {where}: {text.splitlines()[0]}"


def describe_console(params):
    args = " ".join(
        str(a.get("value", a.get("description", a.get("type", "")))) for a in params.get("args", [])
    )
    frames = (params.get("stackTrace") or {}).get("callFrames") or [{}]
    where = f"{frames[0].get('url', '')}:{frames[0].get('lineNumber', 0) + 1}"
    return f"console.{params.get('type')} at {where}: {args}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--page", required=True, help="an HTML file or an http(s)/file URL")
    ap.add_argument("--screenshot", required=True, help="PNG to write")
    ap.add_argument("--browser", help="Chromium binary (default: found on PATH)")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=900, help="viewport height")
    ap.add_argument("--max-height", type=int, default=6000, help="screenshot height cap (full page up to this)")
    ap.add_argument("--min-text", type=int, default=200, help="least characters of visible text")
    ap.add_argument("--expect-selector", action="append", default=[], help="CSS selector that must match")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole check")
    ap.add_argument("--expect", choices=["clean", "blocked", "executed"],
                    help="watch what the page's content runs, requests and has blocked")
    ap.add_argument("--listen", type=int, default=0, help="port of the HTTP listener payloads aim at")
    args = ap.parse_args()

    page = args.page
    if "://" not in page:
        path = pathlib.Path(page).resolve()
        if not path.is_file():
            sys.exit(f"page check: {path} does not exist")
        page = path.as_uri()
    browser = find_browser(args.browser)
    deadline = time.monotonic() + args.timeout
    profile = tempfile.mkdtemp(prefix="ipcconf-chromium-")
    log_path = os.path.join(profile, "chromium.log")
    errors, warnings = [], []
    proc, closing = None, False
    listener = Listener(args.listen) if args.listen else None
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                 f"--window-size={args.width},{args.height}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        port_file = pathlib.Path(profile, "DevToolsActivePort")
        while not port_file.is_file() or not port_file.read_text().strip():
            if proc.poll() is not None:
                raise RuntimeError(f"Chromium exited with {proc.returncode} before DevTools was up")
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not open DevTools in time")
            time.sleep(0.05)  # polling a file Chromium writes; bounded by the deadline
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            targets = json.load(r)
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        cdp = Session(WebSocket(ws_url, timeout=max(1.0, deadline - time.monotonic())), deadline)
        for domain in ("Runtime", "Log", "Page") + (("Network",) if args.expect else ()):
            cdp.call(f"{domain}.enable")
        if args.expect:
            cdp.call("Page.addScriptToEvaluateOnNewDocument", source=WATCH)
        cdp.call("Emulation.setDeviceMetricsOverride", width=args.width, height=args.height,
                 deviceScaleFactor=1, mobile=False)
        cdp.events.clear()  # about:blank's own events are not the page's
        nav = cdp.call("Page.navigate", url=page)
        if nav.get("errorText"):
            errors.append(f"navigation failed: {nav['errorText']}")
        else:
            cdp.wait_event("Page.loadEventFired")
            # Two animation frames after load: scripts that render on load have painted.
            cdp.call("Runtime.evaluate", awaitPromise=True, expression=(
                "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(1))))"))
            facts = cdp.call("Runtime.evaluate", returnByValue=True, expression="""(() => ({
                title: document.title,
                text: (document.body && document.body.innerText || '').length,
                tables: document.querySelectorAll('table').length,
                images: document.querySelectorAll('img, svg, canvas').length,
                links: document.querySelectorAll('a[href]').length,
                height: Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0),
            }))()""")["result"]["value"]
            selectors = {}
            for sel in args.expect_selector:
                selectors[sel] = cdp.call("Runtime.evaluate", returnByValue=True,
                                          expression=f"document.querySelectorAll({json.dumps(sel)}).length")["result"]["value"]
            height = min(max(facts["height"], args.height), args.max_height)
            cdp.call("Emulation.setDeviceMetricsOverride", width=args.width, height=height,
                     deviceScaleFactor=1, mobile=False)
            shot = cdp.call("Page.captureScreenshot", format="png",
                            clip={"x": 0, "y": 0, "width": args.width, "height": height, "scale": 1})
            out = pathlib.Path(args.screenshot)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(base64.b64decode(shot["data"]))
            print(f"page check: {page}")
            print(f"  title {facts['title']!r}; {facts['text']} characters of text, {facts['tables']} tables, "
                  f"{facts['images']} images/svg/canvas, {facts['links']} links; page height {facts['height']}px")
            print(f"  screenshot {out} ({args.width}x{height}, {out.stat().st_size} bytes)")
            if facts["text"] < args.min_text:
                errors.append(f"the page shows {facts['text']} characters of text (want at least {args.min_text})")
            if not facts["title"]:
                warnings.append("the page has no <title>")
            for sel, n in selectors.items():
                print(f"  selector {sel!r}: {n} element(s)")
                if n == 0:
                    errors.append(f"no element matches {sel!r}")
            if args.expect:
                ran, requested, blocked = watch_payloads(cdp, page, listener)
                print(f"  expected {args.expect}: {len(ran)} ran, {len(requested)} requested, "
                      f"{len(blocked)} blocked by the policy")
                for what, items in (("ran", ran), ("requested", requested), ("blocked", blocked)):
                    for item in items[:12]:
                        print(f"    {what}: {item[:160]}")
                    if len(items) > 12:
                        print(f"    {what}: ... {len(items) - 12} more")
                if args.expect in ("clean", "blocked"):
                    errors += [f"a payload ran: {x}" for x in ran] + [f"a payload was requested: {x}" for x in requested]
                if args.expect == "clean" and blocked:
                    errors.append(f"the policy had to block {len(blocked)} load(s): markup reached the page")
                if args.expect == "blocked" and not blocked:
                    errors.append("the policy blocked nothing: the control page holds no payload it could block")
                if args.expect == "executed" and not (ran or requested):
                    errors.append("nothing ran and nothing was requested: the watching would not see an attack")
        for ev in cdp.events:
            method, params = ev["method"], ev.get("params", {})
            if method == "Runtime.exceptionThrown":
                if args.expect == "executed":
                    continue  # a control page's payloads may throw
                errors.append(describe_exception(params.get("exceptionDetails", {})))
            elif method == "Runtime.consoleAPICalled":
                if params.get("type") in ("error", "assert"):
                    errors.append(describe_console(params))
                elif params.get("type") == "warning":
                    warnings.append(describe_console(params))
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                text = f"{entry.get('source')} {entry.get('level')}: {entry.get('text')} {entry.get('url', '')}".strip()
                if args.expect in ("blocked", "executed"):
                    continue  # a control page: its payloads' errors are the point
                if entry.get("level") == "error":
                    errors.append(text)
                elif entry.get("level") == "warning":
                    warnings.append(text)
        try:
            closing = True
            cdp.call("Browser.close")
        except (ConnectionError, OSError, RuntimeError, TimeoutError):
            pass
    except (TimeoutError, RuntimeError, ConnectionError, OSError, StopIteration) as e:
        errors.append(f"could not check the page: {e!r}")
        try:
            tail = pathlib.Path(log_path).read_text(errors="replace").splitlines()[-15:]
            errors.extend("  chromium: " + line for line in tail)
        except OSError:
            pass
    finally:
        if proc is not None and closing:
            try:  # after Browser.close Chromium exits by itself and reaps its helpers
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, 15)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
        if listener:
            listener.close()

    for w in warnings:
        print(f"  warning: {w}")
    for e in errors:
        print(f"  ERROR: {e}")
    if errors:
        print(f"page check FAILED: {len(errors)} error(s)")
        return 1
    print("page check passed: no console errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
