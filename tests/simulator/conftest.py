"""Fixtures for the Twilio simulator tests: a running simulator, clients, a receiver."""

import threading
from urllib.parse import urlsplit, urlunsplit

import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from dashboard.simulator import SimulatorServer

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "simulated-token-one"
OTHER_ACCOUNT_SID = "AC" + "fedcba9876543210" * 2
OTHER_AUTH_TOKEN = "simulated-token-two"
SENDER = "whatsapp:+14155238886"
RECIPIENT = "whatsapp:+5511999990000"


class SimulatorHttpClient(TwilioHttpClient):
    """Sends every Twilio request to the simulator, keeping path and query."""

    def __init__(self, base_url: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.base_url = urlsplit(base_url)

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        url = urlunsplit(
            (self.base_url.scheme, self.base_url.netloc, parts.path, parts.query, "")
        )
        return super().request(method, url, *args, **kwargs)


class Receiver:
    """A tiny webhook endpoint that records what it is sent."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        self.arrived = threading.Condition()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def app(self, environ, start_response):
        request = Request(environ)
        record = {
            "url": request.url,
            "form": request.form.to_dict(),
            "signature": request.headers.get("X-Twilio-Signature"),
        }
        with self.arrived:
            self.requests.append(record)
            self.arrived.notify_all()
        return Response("", status=self.status)(environ, start_response)

    def wait_for(self, count: int, timeout: float = 3.0) -> list[dict]:
        """Wait until `count` requests have arrived; answer them."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


@pytest.fixture
def simulator():
    server = SimulatorServer()
    server.state.add_account(ACCOUNT_SID, AUTH_TOKEN, friendly_name="Main")
    server.state.add_account(OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN)

    with server:
        threads = server.threads
        yield server

    assert not any(thread.is_alive() for thread in threads)


@pytest.fixture
def make_client(simulator):
    made: list[SimulatorHttpClient] = []

    def make(
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        timeout: float = 3.0,
        path_account_sid: str | None = None,
    ) -> Client:
        http_client = SimulatorHttpClient(simulator.url, timeout=timeout)
        made.append(http_client)
        return Client(
            account_sid,
            auth_token,
            account_sid=path_account_sid,
            http_client=http_client,
        )

    yield make

    for http_client in made:
        http_client.session.close()


@pytest.fixture
def client(make_client) -> Client:
    return make_client()


@pytest.fixture
def receiver():
    endpoint = Receiver()
    endpoint.start()
    yield endpoint
    endpoint.stop()
    assert not endpoint.running
