"""A local Twilio simulator for development, demos and tests.

It serves the parts of Twilio's REST API the product uses over HTTP, answers in
Twilio's JSON shapes and error codes, and POSTs signed webhooks. The product never
imports it at run time; only the command line and the tests start it.
"""

from .app import create_simulator_app
from .server import SimulatorServer, parse_account_spec, run_simulator
from .state import (
    CallbackAttempt,
    CallbackStep,
    SignedRequest,
    SimulatorState,
    TwilioError,
    media_bytes,
    new_sid,
    sign_request,
)

__all__ = [
    "CallbackAttempt",
    "CallbackStep",
    "SignedRequest",
    "SimulatorServer",
    "SimulatorState",
    "TwilioError",
    "create_simulator_app",
    "media_bytes",
    "new_sid",
    "parse_account_spec",
    "run_simulator",
    "sign_request",
]
