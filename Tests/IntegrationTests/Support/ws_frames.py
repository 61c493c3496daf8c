"""WebSocket client framing and the JSON report shared by Canarygate's tunnel test clients (ws_h2client.py,
ws_tls_client.py), which import it from this directory. Standard library only.
"""

import json

MASK = bytes([0x37, 0xFA, 0x21, 0x3D])


def ws_frame(opcode, payload):
    """One final client frame, masked as a client's must be (RFC 6455 §5.3)."""
    n = len(payload)
    if n < 126:
        header = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        header = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    masked = bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))
    return header + MASK + masked


def parse_frame(buf):
    """One unmasked server frame from the front of buf: (opcode, payload, consumed) or None."""
    if len(buf) < 2:
        return None
    n = buf[1] & 0x7F
    at = 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, at = int.from_bytes(buf[2:4], "big"), 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, at = int.from_bytes(buf[2:10], "big"), 10
    if len(buf) < at + n:
        return None
    return buf[0] & 0x0F, bytes(buf[at : at + n]), at + n


def echo_messages(send, receive, result):
    """Sends a text message, a 200 KiB binary message and a close frame, each once its predecessor came back;
    result["text"], ["large"], ["close"]: whether each came back as (opcode, payload) unchanged.
    send takes a frame's bytes; receive returns the next server frame as (opcode, payload)."""
    large = bytes((i * 31 + (i >> 9)) & 0xFF for i in range(200 * 1024))
    for key, opcode, payload in (("text", 0x1, b"hello"), ("large", 0x2, large), ("close", 0x8, b"\x03\xe8")):
        send(ws_frame(opcode, payload))
        result[key] = receive() == (opcode, payload)


def report(run):
    """Calls run(result) and prints result as one JSON line, with "ok" false and "error" when run raised;
    the exit status: 0 when ok, else 1."""
    result = {"ok": True}
    try:
        run(result)
    except Exception as error:  # noqa: BLE001 - reported to the Swift test
        result["ok"] = False
        result["error"] = f"{type(error).__name__}: {error}"
    print(json.dumps(result))
    return 0 if result["ok"] else 1
