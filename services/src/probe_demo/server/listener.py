"""Closing a listening socket without resetting a connection.

The kernel completes TCP handshakes on its own and queues the connections until the server
accepts them; closing the listener resets every connection still queued, and those whose
handshake is under way. Taking the queue first and closing right after still leaves a
moment in which a client connects and is reset, with its request unanswered. So the server
first stops new handshakes: a socket filter drops SYNs on the listener (a client trying now
retries its SYN a second later and is refused, nothing sent), while the handshakes already
under way complete. HANDSHAKE_SECONDS later it takes what the kernel queued, then closes.
"""

from __future__ import annotations

import ctypes
import socket
import struct

# How long after new handshakes are refused the ones under way have to complete: far more
# than a round trip between nodes.
HANDSHAKE_SECONDS = 0.1

SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)  # Linux
# A classic BPF program run on each segment that reaches the listener, the TCP header
# first: drop a segment whose flags have SYN without ACK (a new handshake), keep the rest
# (the ACKs that complete the handshakes under way).
_DROP_NEW_HANDSHAKES = [
    (0x30, 0, 0, 13),          # ldb [13]: the TCP flags
    (0x54, 0, 0, 0x12),        # and #(SYN|ACK)
    (0x15, 0, 1, 0x02),        # jeq #SYN: drop, else keep
    (0x06, 0, 0, 0),           # ret #0: drop
    (0x06, 0, 0, 0xFFFFFFFF),  # ret #-1: keep whole
]


def refuse_new_handshakes(sock: socket.socket) -> bool:
    """Drop new SYNs on this listener from now on; False where the system has no socket
    filters (then the listener closes as it always did, with the moment's race)."""
    program = b"".join(struct.pack("HBBI", *op) for op in _DROP_NEW_HANDSHAKES)
    buffer = ctypes.create_string_buffer(program)
    fprog = struct.pack("HL", len(_DROP_NEW_HANDSHAKES), ctypes.addressof(buffer))
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    except OSError:
        return False
    return True
