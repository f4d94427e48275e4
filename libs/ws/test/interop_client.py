#!/usr/bin/env python3
"""Interop test: Python's `websockets` (a client we did not write) against ws_interop_server,
a loopback echo server built on libs/ws.

    interop_client.py <path to ws_interop_server>

Starts the server, runs the client scenarios, asks the server to quit and checks both what the
client saw and the per-connection summaries the server printed. Exits non-zero on any failure,
including a missing `websockets` package: nothing is skipped.
"""
import asyncio
import http.client
import json
import os
import subprocess
import sys
import threading

try:
    import websockets
    from websockets.exceptions import ConnectionClosedError, InvalidStatusCode
except ImportError as e:  # fail loudly, never skip
    print(f"FAIL: the websockets package is missing ({e}); install python3-websockets "
          f"(deploy/local/install-deps.sh) or point TICKSTREAM_WS_INTEROP_PYTHON at a Python "
          f"that has it", file=sys.stderr)
    sys.exit(2)

failures = []
passes = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    (passes if cond else failures).append(what)


class Server:
    def __init__(self, binary):
        self.proc = subprocess.Popen([binary], stdout=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline().split()
        if len(first) != 2 or first[0] != "PORT":
            raise RuntimeError(f"server did not report its port: {first}")
        self.port = int(first[1])
        self.reports = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.reports.append(json.loads(line))
                self.cond.notify_all()

    def report(self, index, timeout=10):
        """The index-th connection summary, waiting for it with a deadline."""
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.reports) > index, timeout):
                raise RuntimeError(f"no report for connection {index} after {timeout} s")
            return self.reports[index]


def http_get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


async def echo_scenario(port):
    uri = f"ws://127.0.0.1:{port}/echo"
    # The client offers permessage-deflate by default: the server must decline it.
    async with websockets.connect(uri, subprotocols=["tickstream.v2", "tickstream.v1"],
                                  max_size=2 ** 21, ping_interval=None) as ws:
        check(ws.subprotocol == "tickstream.v1", f"server's preferred subprotocol chosen "
              f"({ws.subprotocol!r})")
        check(not ws.extensions, "no extension negotiated (permessage-deflate declined)")

        async def echo(message, what):
            await ws.send(message)
            reply = await asyncio.wait_for(ws.recv(), 10)
            check(reply == message, f"echo of {what}")

        await echo('{"op":"subscribe","symbols":["AAPL"]}', "a small text message")
        await echo(bytes(range(256)), "a binary message")
        await echo("", "an empty text message")
        await echo(b"", "an empty binary message")
        await echo("é€😀 " * 10000,
                   "a 100 KB text message of multi-byte characters (64-bit length)")
        await echo(os.urandom(70000), "a 70 KB binary message (64-bit length)")
        await echo(b"x" * 300, "a 300-byte binary message (16-bit length)")

        # Fragmented messages: websockets sends an iterable as one message in several frames.
        await ws.send(["frag", "mented ", "€ text"])
        check(await asyncio.wait_for(ws.recv(), 10) == "fragmented € text",
              "echo of a fragmented text message")
        await ws.send([b"\x00\x01", b"", b"\x02" * 70000])
        check(await asyncio.wait_for(ws.recv(), 10) == b"\x00\x01" + b"\x02" * 70000,
              "echo of a fragmented binary message with a 70 KB fragment")

        pong = await ws.ping(b"client-ping")
        await asyncio.wait_for(pong, 10)
        check(True, "pong for the client's ping")

        await ws.send("burst:50")
        got = [await asyncio.wait_for(ws.recv(), 10) for _ in range(50)]
        check(got == [f"m{i}" for i in range(50)], "50 messages written in one writev")

        await ws.close(code=4000, reason="bye now")
        check(ws.close_code == 4000, f"server echoed close code 4000 ({ws.close_code})")
        check(ws.close_reason == "bye now", f"server echoed the close reason "
              f"({ws.close_reason!r})")


async def too_big_scenario(port):
    async with websockets.connect(f"ws://127.0.0.1:{port}/tiny", ping_interval=None) as ws:
        await ws.send("y" * 1000)
        check(await asyncio.wait_for(ws.recv(), 10) == "y" * 1000, "1000 bytes fit a 1 KiB limit")
        await ws.send("x" * 2000)
        try:
            await asyncio.wait_for(ws.recv(), 10)
            check(False, "message over the limit is refused")
        except ConnectionClosedError:
            check(ws.close_code == 1009, f"message over the limit closed with 1009 "
                  f"({ws.close_code})")


async def strict_scenario(port):
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/strict", ping_interval=None,
                                      subprotocols=["other"]):
            check(False, "upgrade without a supported subprotocol is refused")
    except InvalidStatusCode as e:
        check(e.status_code == 400, f"upgrade without a supported subprotocol: 400 "
              f"({e.status_code})")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    print(f"websockets {websockets.__version__} on Python {sys.version.split()[0]}")
    server = Server(sys.argv[1])
    try:
        asyncio.run(echo_scenario(server.port))
        r = server.report(0)
        check(r["path"] == "/echo" and r["subprotocol"] == "tickstream.v1", "server: /echo")
        check(r["text"] == 5 and r["binary"] == 5, f"server: 5 text, 5 binary messages ({r})")
        check(r["largest"] == 100000, f"server: largest message 100000 bytes ({r['largest']})")
        check(r["client_pings"] == 1, "server: one ping from the client")
        check(r["server_ping_answered"], "server: the client answered the server's ping")
        check(r["close_code"] == 4000 and r["close_reason"] == "bye now",
              "server: client's close code and reason")
        check(not r["protocol_error"], "server: no protocol error")

        asyncio.run(too_big_scenario(server.port))
        r = server.report(1)
        check(r["protocol_error"] and r["close_code"] == 1009, "server: closed /tiny with 1009")

        asyncio.run(strict_scenario(server.port))
        check(server.report(2)["http_status"] == 400, "server: /strict refused with 400")

        status, _, body = http_get(server.port, "/v1/route?symbol=AAPL")
        check(status == 404 and body == "no such page\n", f"plain GET on the same port: 404 "
              f"({status} {body!r})")
        status, _, body = http_get(server.port, "/echo", {
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"})
        check(status == 400 and "Sec-WebSocket-Key" in body, f"upgrade without a key: 400 "
              f"({status} {body!r})")
        status, headers, _ = http_get(server.port, "/echo", {
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "8",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        check(status == 426 and headers.get("Sec-WebSocket-Version") == "13",
              f"version 8: 426 with Sec-WebSocket-Version: 13 ({status})")

        status, _, _ = http_get(server.port, "/quit")
        check(status == 200, "server quits on /quit")
        rc = server.proc.wait(timeout=10)
        check(rc == 0, f"server exited 0 ({rc})")
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()
    print(f"interop: {len(passes)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
