"""Opening the port a command serves on, or one line saying why it cannot be opened."""

from __future__ import annotations

import errno
import socket

from server.errors import CliError


def listening(host: str, port: int, taken_hint: str = "") -> socket.socket:
    """A socket listening on ``host:port``, bound as the servers bind (the first address the name
    resolves to, ``SO_REUSEADDR`` set). CliError when it cannot be: an unknown host, an address this
    machine lacks, a port it may not open, or a port already taken (then ``taken_hint`` follows)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as err:
        hint = " (give the port with --port)" if host.count(":") == 1 else ""  # IPv6 addresses hold more
        raise CliError(f"--host {host}: {err.strerror}{hint}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as err:
        sock.close()
        hint = f" ({taken_hint})" if taken_hint and err.errno == errno.EADDRINUSE else ""
        raise CliError(f"cannot listen on {host}:{port}: {err.strerror or err}{hint}") from None
    return sock
