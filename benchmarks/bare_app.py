"""The baseline for the webhook benchmark: Flask answering 200 on the status
callback path and doing nothing else, served with the same gunicorn settings."""

from flask import Flask

from dashboard.urls import STATUS_WEBHOOK_PATH

app = Flask(__name__)


@app.post(STATUS_WEBHOOK_PATH)
def status():
    return "", 200
