"""Imported first by the scripts these tests run: any network connection attempt is printed as
``NETWORK <address>`` on stderr and refused, so a test sees what would have gone online."""

from __future__ import annotations

import socket
import sys

_connect = socket.socket.connect


def _refuse(self: socket.socket, address: object) -> None:
    if self.family == getattr(socket, "AF_UNIX", None):
        return _connect(self, address)
    print(f"NETWORK {address}", file=sys.stderr, flush=True)
    raise OSError("network disabled by the test")


def _refuse_lookup(host: object, *args: object, **kwargs: object) -> list:
    print(f"NETWORK lookup {host}", file=sys.stderr, flush=True)
    raise socket.gaierror("network disabled by the test")


socket.socket.connect = _refuse  # type: ignore[method-assign]
socket.getaddrinfo = _refuse_lookup  # type: ignore[assignment]
