"""The live server the browser suite runs against: browsers drop connections in
mid-answer, and that must not leave a file open for a later test to trip on."""

import gc
import socket
import struct
import warnings
from urllib.parse import urlsplit

DROPS = 200
# Close with a reset rather than a FIN, as a browser cancelling a request may.
RESET_ON_CLOSE = struct.pack("ii", 1, 0)


def test_connections_dropped_mid_answer_leave_no_file_open(live_server):
    address = urlsplit(live_server.url)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(DROPS):
            _drop_after_first_byte(address.hostname, address.port)
        live_server.stop()
        gc.collect()

    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []


def _drop_after_first_byte(host, port):
    with socket.create_connection((host, port)) as connection:
        connection.sendall(
            b"GET /static/vendor/htmx/htmx.min.js HTTP/1.1\r\nHost: test\r\n\r\n"
        )
        connection.recv(1)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
