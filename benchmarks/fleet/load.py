#!/usr/bin/env python3
# Purpose: steady fixed-rate HTTP/1.1 load through every fleet replica (benchmarks/fleet/run.sh), counting answers by status.
"""Usage: load.py OUT.json PORT:RATE [PORT:RATE ...]

One keep-alive connection per target, requests sent on a fixed schedule (RATE per second; a late
request is sent at once, never a burst to catch up). A connection the proxy closes is opened again.
On SIGTERM/SIGINT it writes {port: {status: count, "errors": n}} to OUT.json and exits.
"""
import asyncio
import json
import signal
import sys
import time


async def exchange(reader, writer, request):
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    close = b"connection: close" in head.lower()
    return status, close


async def drive(port, rate, counts, stop):
    request = b"GET / HTTP/1.1\r\nHost: web\r\n\r\n"
    period = 1.0 / rate
    reader = writer = None
    due = time.monotonic()
    while not stop.is_set():
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            status, close = await asyncio.wait_for(exchange(reader, writer, request), 5)
            counts[str(status)] = counts.get(str(status), 0) + 1
            if close:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, IndexError):
            counts["errors"] = counts.get("errors", 0) + 1
            if writer is not None:
                writer.close()
            writer = None
        due = max(due + period, time.monotonic())
        await asyncio.sleep(max(0.0, due - time.monotonic()))


async def main():
    out = sys.argv[1]
    targets = [tuple(map(float, a.split(":"))) for a in sys.argv[2:]]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    counts = {str(int(p)): {} for p, _ in targets}
    tasks = [asyncio.create_task(drive(int(p), r, counts[str(int(p))], stop)) for p, r in targets]
    await stop.wait()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    with open(out, "w") as f:
        json.dump(counts, f)


if __name__ == "__main__":
    asyncio.run(main())
