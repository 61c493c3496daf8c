#!/usr/bin/env python3
# Purpose: a slow HTTP/1.1 keep-alive upstream for benchmarks/idle-memory.sh (UPSTREAM=slow): each response waits DELAY seconds.
#
#   slow_upstream.py --port 18101 --arm v1 --port 18102 --arm v2 --delay 0.2
#       Serves every request on each port with "200 ok\n" (X-Arm: the port's arm) after --delay
#       seconds, keeping connections alive, so many requests wait at once while clients arrive.
#       Runs until SIGTERM/SIGINT. Stdlib only (asyncio); request bodies are not expected.
import argparse
import asyncio
import signal


async def serve_connection(reader, writer, arm, delay):
    response = ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nX-Arm: %s\r\n\r\nok\n" % arm).encode()
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                break
            await asyncio.sleep(delay)
            writer.write(response)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, action="append", required=True)
    ap.add_argument("--arm", action="append", required=True)
    ap.add_argument("--delay", type=float, default=0.2)
    args = ap.parse_args()
    if len(args.port) != len(args.arm):
        ap.error("one --arm per --port")
    servers = []
    for port, arm in zip(args.port, args.arm):
        servers.append(await asyncio.start_server(
            lambda r, w, arm=arm: serve_connection(r, w, arm, args.delay), "127.0.0.1", port, backlog=4096))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for s in servers:
        s.close()


if __name__ == "__main__":
    asyncio.run(main())
