#!/usr/bin/env python3
"""A WebSocket client that is not ours (Python's `websockets`), driven by the gateway tests.

Connects to URL, sends each --send text frame (or --send-binary hex) in order, then prints every
message it receives as one JSON line ({"message": <parsed JSON>} or {"binary": "<hex>"}) until
--messages have arrived, --updates Update messages have arrived, the server closes, or
--timeout passes; the last line is {"closed": <close code or null>, "reason": ...}.
"""
import argparse
import asyncio
import json
import sys

import websockets


async def run(args):
    headers = {}
    if args.token:
        headers["Authorization"] = "Bearer " + args.token
    subprotocols = [args.subprotocol] if args.subprotocol else None
    code, reason = None, ""
    # Each test case can come from its own loopback address, so per-IP upgrade limits of one
    # case do not spend another's budget.
    local = {"local_addr": (args.source_ip, 0)} if args.source_ip else {}
    try:
        async with websockets.connect(args.url, subprotocols=subprotocols,
                                      extra_headers=headers, max_size=2 ** 22,
                                      ping_interval=None, **local) as ws:
            for text in args.send:
                await ws.send(text)
            for hexa in args.send_binary:
                await ws.send(bytes.fromhex(hexa))
            messages = updates = 0
            loop = asyncio.get_running_loop()
            deadline = loop.time() + args.timeout
            while True:
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=left)
                except asyncio.TimeoutError:
                    break
                if isinstance(raw, bytes):
                    print(json.dumps({"binary": raw.hex()}), flush=True)
                else:
                    msg = json.loads(raw)
                    print(json.dumps({"message": msg}), flush=True)
                    if "update" in msg:
                        updates += 1
                messages += 1
                if (args.messages and messages >= args.messages) or \
                        (args.updates and updates >= args.updates):
                    break
            if args.close:
                await ws.close(code=1000, reason="done")
            code, reason = ws.close_code, ws.close_reason
    except websockets.exceptions.ConnectionClosed as e:
        code, reason = e.code, e.reason
    except websockets.exceptions.InvalidStatusCode as e:
        print(json.dumps({"http_status": e.status_code}), flush=True)
    print(json.dumps({"closed": code, "reason": reason}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--token", default="")
    p.add_argument("--subprotocol", default="tickstream.v1.json")
    p.add_argument("--send", action="append", default=[])
    p.add_argument("--send-binary", action="append", default=[])
    p.add_argument("--messages", type=int, default=0)
    p.add_argument("--updates", type=int, default=0)
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--close", action="store_true", help="close with 1000 at the end")
    p.add_argument("--source-ip", default="", help="connect from this local address (127.0.0.x)")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
