"""Run the simulator over HTTP in a background thread, or in the foreground."""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable, Iterable

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_simulator_app
from .state import SignedRequest, SimulatorState

logger = logging.getLogger(__name__)

# How often the serving thread checks for stop(); keeps shutdown quick.
POLL_INTERVAL = 0.05
DEMO_TEMPLATE = "Hello {{1}}, thanks for getting in touch. Reply to continue."


class _RequestHandler(WSGIRequestHandler):
    """Logs each request at DEBUG without its query string (it holds numbers)."""

    def log_request(self, code="-", size="-") -> None:
        path = self.path.split("?", 1)[0]
        logger.debug("Simulator %s %s -> %s", self.command, path, code)


class SimulatorServer:
    """The simulator served by werkzeug on a daemon thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state: SimulatorState | None = None,
        callback_delay: float | None = None,
    ) -> None:
        if state is not None and callback_delay is not None:
            raise ValueError("give callback_delay to the state, not to both")
        self.host = host
        self.port = port
        self.state = state or SimulatorState(callback_delay=callback_delay)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._worker: threading.Thread | None = None
        self._stop_worker = threading.Event()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (known once started)."""
        if self._server is None:
            raise RuntimeError("The simulator is not running")
        return f"http://{_client_host(self.host)}:{self._server.server_port}"

    @property
    def threads(self) -> list[threading.Thread]:
        """The threads this server started (for leak checks)."""
        return [t for t in (self._thread, self._worker) if t is not None]

    def start(self) -> SimulatorServer:
        """Bind the port and serve in the background; answer self."""
        if self._server is not None:
            raise RuntimeError("The simulator is already running")
        app = create_simulator_app(self.state)
        self._server = make_server(
            self.host,
            self.port,
            app,
            threaded=True,
            request_handler=_RequestHandler,
        )
        self.state.base_url = self.url
        self.state.interrupt_sleeps(False)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name=f"twilio-simulator-{self._server.server_port}",
            daemon=True,
        )
        self._thread.start()

        if self.state.callback_delay is not None:
            self._stop_worker.clear()
            self._worker = threading.Thread(
                target=self.state.run_due_callbacks,
                args=(self._stop_worker,),
                name="twilio-simulator-callbacks",
                daemon=True,
            )
            self._worker.start()

        logger.info("Twilio simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the background threads to end."""
        if self._server is None:
            return
        self.state.interrupt_sleeps()
        self._stop_worker.set()
        self.state.wake()
        self._server.shutdown()
        self._server.server_close()
        for thread in self.threads:
            thread.join(timeout=5)
        logger.info("Twilio simulator on port %s stopped", self._server.server_port)
        self._server = self._thread = self._worker = None

    def flush_callbacks(self) -> list[tuple[str, int | None]]:
        """Send every queued status callback now; see SimulatorState."""
        return self.state.flush_callbacks()

    def deliver_incoming(self, *args, **kwargs) -> int | None:
        """POST an incoming-message webhook; see SimulatorState.incoming_request."""
        return self.state.deliver_incoming(*args, **kwargs)

    def incoming_request(self, *args, **kwargs) -> SignedRequest:
        """Build a signed incoming-message webhook without sending it."""
        return self.state.incoming_request(*args, **kwargs)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _client_host(host: str) -> str:
    """The address a client uses to reach a server bound to `host`."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "127.0.0.1"
    if address.is_unspecified:
        return "127.0.0.1"
    return f"[{host}]" if address.version == 6 else host


def parse_account_spec(spec: str) -> tuple[str, str]:
    """Split a `SID:TOKEN` command-line argument."""
    sid, separator, token = spec.partition(":")
    if not separator or not sid.startswith("AC") or len(sid) != 34 or not token:
        raise ValueError("an account is given as AC<32 hex digits>:<auth token>")
    return sid, token


def run_simulator(
    host: str = "127.0.0.1",
    port: int = 8765,
    accounts: Iterable[tuple[str, str] | str] = (),
    callback_delay: float | None = 1.0,
    on_ready: Callable[[SimulatorServer], None] | None = None,
    demo_template: bool = True,
) -> None:
    """Serve the simulator in the foreground until interrupted (Ctrl-C)."""
    state = SimulatorState(callback_delay=callback_delay)
    for account in accounts:
        sid, token = (
            parse_account_spec(account) if isinstance(account, str) else account
        )
        state.add_account(sid, token)
        if demo_template:
            state.add_content(sid, "welcome", DEMO_TEMPLATE, {"1": "there"})

    server = SimulatorServer(host, port, state=state)
    server.start()
    if on_ready is not None:
        on_ready(server)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        logger.info("Twilio simulator interrupted")
    finally:
        server.stop()
