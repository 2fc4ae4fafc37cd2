"""Run a ``medner serve`` app in-process on a free loopback port (uvicorn in a thread), for the service and page tests."""
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator, Tuple

import uvicorn


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(app, *, graceful_timeout_s: float = 10.0) -> Iterator[Tuple[str, uvicorn.Server]]:
    """``(base_url, server)`` while uvicorn serves ``app`` on 127.0.0.1; on exit
    the server is asked to stop (as SIGTERM does) and the thread is joined."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=graceful_timeout_s, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(timeout=30)
