#!/usr/bin/env python3
"""The watchlist page in a real browser: headless Chromium loads it from a gateway shard and the
test reads what a person would see, through the Chrome DevTools Protocol (Python's websockets).

A gateway with its synthetic market data (no broker needed) serves the page; the test checks
that the page connects, lists the shard's first 20 symbols with prices, that prices keep
moving, that the "Add symbol" form subscribes to one more symbol, and that an unknown symbol
shows the gateway's error. It saves a screenshot next to the gateway's log.

  watchlist_page_test.py --gateway BIN --web-dir DIR --chromium BIN --out-dir DIR
"""
import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websockets


class TestFailed(Exception):
    pass


def fail(msg):
    raise TestFailed(msg)


def wait_for(what, check, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    fail("timed out waiting for " + what)


class Cdp:
    """One DevTools session on a page target: send a command, get its result."""

    def __init__(self, ws):
        self.ws, self.next_id = ws, 1

    async def call(self, method, **params):
        my_id = self.next_id
        self.next_id += 1
        await self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(await self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    fail(f"{method}: {msg['error']}")
                return msg["result"]

    async def eval(self, expression):
        r = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            fail(f"page script failed: {expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    async def until(self, what, expression, timeout_s=20):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = await self.eval(expression)
            if value:
                return value
            await asyncio.sleep(0.1)
        fail(f"timed out waiting for {what} ({expression})")


# The table as the person sees it: one list of cell texts per row.
ROWS = "[...document.querySelectorAll('#rows tr')].map(tr => [...tr.children].map(td => td.textContent))"
STATUS = "document.getElementById('status').textContent"


async def drive(cdp, url, symbols, out_dir):
    await cdp.call("Page.enable")
    await cdp.call("Runtime.enable")
    await cdp.call("Page.navigate", url=url)
    # Until the new document is there, the page's elements are not: wait for it first.
    await cdp.until("the page to load",
                    f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    status = await cdp.until("the page to connect", f"{STATUS}.startsWith('connected') && {STATUS}")
    if status != "connected to shard 0 of 1":
        fail(f"status line: {status!r}")

    # The first 20 of the shard's symbols, each with a bid and an ask (from its snapshot).
    await cdp.until("20 rows with prices",
                    f"{ROWS}.length === 20 && {ROWS}.every(r => r[1] !== '' && r[2] !== '')")
    rows = await cdp.eval(ROWS)
    if [r[0] for r in rows] != symbols[:20]:
        fail(f"rows {[r[0] for r in rows]} are not the shard's first 20 symbols {symbols[:20]}")
    for r in rows:
        for price in (r[1], r[2]):
            if not re.fullmatch(r"\d+\.\d\d", price):
                fail(f"row {r}: price {price!r} is not a decimal with two places")

    # Prices move: the updates column counts up and seq goes up for every row. Waited for as
    # such: a row may already have had its updates counted when `before` was read, so its seq
    # moves only with a later update (on a loaded machine, after the updates count passed 2).
    before = {r[0]: int(r[6]) for r in rows}
    await cdp.until("updates on every row and seq past the first reading",
                    f"(b => {ROWS}.every(r => Number(r[5]) >= 2 && Number(r[6]) > b[r[0]]))({json.dumps(before)})",
                    timeout_s=20)
    after = {r[0]: int(r[6]) for r in await cdp.eval(ROWS)}
    for s, seq in before.items():
        if after[s] <= seq:
            fail(f"{s}: seq {seq} -> {after[s]}: did not move")

    # The form: one more symbol gets its row and prices.
    extra = symbols[24]
    await cdp.eval(f"document.getElementById('sym').value = '{extra.lower()}';"
                   "document.getElementById('add').requestSubmit(); true")
    await cdp.until(f"a row for {extra}",
                    f"{ROWS}.some(r => r[0] === '{extra}' && r[1] !== '' && Number(r[5]) >= 1)")

    # An unknown symbol: the gateway's error is shown, the other rows keep streaming.
    await cdp.eval("document.getElementById('sym').value = 'NOSUCH1';"
                   "document.getElementById('add').requestSubmit(); true")
    await cdp.until("the unknown-symbol error", f"{STATUS}.includes('ERROR_CODE_UNKNOWN_SYMBOL')")
    counts = {r[0]: int(r[5]) for r in await cdp.eval(ROWS)}
    await cdp.until("updates after the error",
                    f"{ROWS}.some(r => r[0] === '{symbols[0]}' && Number(r[5]) > {counts[symbols[0]]})")

    shot = await cdp.call("Page.captureScreenshot", format="png")
    path = os.path.join(out_dir, "watchlist_page.png")
    with open(path, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    print(f"screenshot: {path}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gateway", required=True)
    p.add_argument("--web-dir", required=True)
    p.add_argument("--chromium", required=True)
    p.add_argument("--out-dir", required=True)
    args = p.parse_args()
    if not shutil.which(args.chromium):
        fail(f"no browser at {args.chromium!r}: deploy/local/install-deps.sh installs chromium")
    os.makedirs(args.out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tickstream-watchlist-")
    gw_log_path = os.path.join(args.out_dir, "watchlist_gateway.log")
    procs = []
    try:
        with open(gw_log_path, "w") as gw_log:
            procs.append(subprocess.Popen(
                [args.gateway, "--synthetic-updates-per-second", "200", "--synthetic-symbols", "40",
                 "--allow-anonymous", "true", "--listen", "127.0.0.1:0", "--metrics-listen", "",
                 "--static-dir", args.web_dir],
                stdout=gw_log, stderr=subprocess.STDOUT))

        def gateway_port():
            text = open(gw_log_path).read()
            if procs[0].poll() is not None:
                fail("the gateway exited:\n" + text)
            m = re.search(r'"gateway listening".*"port":(\d+)', text)
            return m and '"gateway ready"' in text and int(m.group(1))

        port = wait_for("the gateway to be ready", gateway_port, 30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/symbols") as r:
            symbols = json.load(r)
        if len(symbols) != 40:
            fail(f"/v1/symbols lists {len(symbols)} symbols, not 40")

        profile = os.path.join(tmp, "profile")
        procs.append(subprocess.Popen(
            [args.chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}",
             "--window-size=1100,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "chromium.log"), "w")))

        def devtools_port():
            if procs[1].poll() is not None:
                fail("chromium exited:\n" + open(os.path.join(tmp, "chromium.log")).read()[-3000:])
            try:
                return int(open(os.path.join(profile, "DevToolsActivePort")).read().split()[0])
            except (OSError, ValueError, IndexError):
                return None

        dt_port = wait_for("chromium's DevTools port", devtools_port, 60)

        def page_target():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{dt_port}/json/list") as r:
                    pages = [t for t in json.load(r) if t.get("type") == "page"]
            except OSError:
                return None
            return pages and pages[0]["webSocketDebuggerUrl"]

        target = wait_for("a page target", page_target, 30)

        async def run():
            async with websockets.connect(target, max_size=2 ** 26, ping_interval=None) as ws:
                await drive(Cdp(ws), f"http://127.0.0.1:{port}/", symbols, args.out_dir)

        asyncio.run(asyncio.wait_for(run(), timeout=120))
        print("the watchlist page streams, subscribes and shows errors in Chromium")
    except TestFailed as e:
        print("FAILED: " + str(e), file=sys.stderr)
        sys.exit(1)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
