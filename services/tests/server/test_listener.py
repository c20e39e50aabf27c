"""Refusing new handshakes on a listener (probe_demo.server.listener), on real sockets: a
new client's SYN goes unanswered, a connection the kernel had queued is still accepted and
carries data, so the listener can then close without resetting anyone."""

import socket
import time

import pytest

from probe_demo.server.listener import refuse_new_handshakes


@pytest.fixture
def listening():
    server = socket.create_server(("127.0.0.1", 0), backlog=16)
    yield server, server.getsockname()[1]
    server.close()


def test_a_new_handshake_is_not_completed_once_refused(listening):
    server, port = listening
    assert refuse_new_handshakes(server)
    begin = time.monotonic()
    with pytest.raises(TimeoutError):
        socket.create_connection(("127.0.0.1", port), timeout=0.3)
    assert time.monotonic() - begin >= 0.3  # its SYN was dropped, not refused at once


def test_a_queued_connection_is_still_accepted_and_carries_data(listening):
    server, port = listening
    client = socket.create_connection(("127.0.0.1", port), timeout=2)
    assert refuse_new_handshakes(server)
    server.settimeout(2)
    accepted, _ = server.accept()
    with client, accepted:
        client.sendall(b"GET /status")
        assert accepted.recv(11) == b"GET /status"
        accepted.sendall(b"OK")
        assert client.recv(2) == b"OK"
    server.close()  # nothing is queued any more: nobody is reset


def test_without_the_filter_closing_resets_a_queued_connection(listening):
    """Why the drain takes the queue before it closes: what is left in it is reset."""
    server, port = listening
    client = socket.create_connection(("127.0.0.1", port), timeout=2)
    server.close()
    with client, pytest.raises(ConnectionResetError):
        client.sendall(b"GET /status HTTP/1.1\r\n\r\n")
        client.recv(10)
