"""The WSGI entry point: `app` for servers and for `flask --app wsgi`."""

import sys

from dashboard import create_app
from dashboard.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    sys.exit(f"Configuration error: {error}")
