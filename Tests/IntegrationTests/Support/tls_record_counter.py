# Purpose: TLS through ssl.MemoryBIO on a plain socket, counting the application-data records that come off it (shared by tls_records.py and tls_records_upstream.py).
import ssl


class RecordCountingTLS:
    """Drives `tls` (an SSLObject over `incoming` / `outgoing` MemoryBIOs) on `sock`, feeding it whole
    records only, so that every application-data record (type 23) is counted as it arrives."""

    def __init__(self, sock, context, server_side=False, server_hostname=None):
        self.sock = sock
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=server_side, server_hostname=server_hostname)
        self.raw = b""  # bytes off the socket not yet split into records
        self.records = 0

    def flush(self):
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def handshake(self, closed_message):
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise SystemExit(closed_message)
                self.incoming.write(chunk)
        self.flush()

    def receive(self, closed_message):
        """Reads once from the socket; returns the plaintext of the whole records now complete."""
        chunk = self.sock.recv(65536)
        if not chunk:
            raise SystemExit(closed_message)
        self.raw += chunk
        # Whole records only: type (1), version (2), length (2), payload.
        while len(self.raw) >= 5 and len(self.raw) >= 5 + int.from_bytes(self.raw[3:5], "big"):
            size = 5 + int.from_bytes(self.raw[3:5], "big")
            if self.raw[0] == 23:
                self.records += 1
            self.incoming.write(self.raw[:size])
            self.raw = self.raw[size:]
        plain = b""
        while True:
            try:
                plain += self.tls.read(65536)
            except ssl.SSLWantReadError:
                return plain

    def send(self, data):
        self.tls.write(data)
        self.flush()
