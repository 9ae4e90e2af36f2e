import pytest


@pytest.mark.parametrize("path", ["/login", "/static/css/app.css", "/nowhere"])
def test_every_response_carries_security_headers(client, path):
    response = client.get(path)
    response.close()

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.app_config(PUBLIC_BASE_URL="https://dashboard.example")
def test_https_deployments_get_hsts(client):
    response = client.get("/login")

    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_pages_have_no_inline_script_or_style(client):
    html = client.get("/login").get_data(as_text=True)

    assert "<script>" not in html and "style=" not in html
