"""Assertions and clients shared by the API tests."""

from rest_framework.test import APIClient

from users.models import User

ERROR_KEYS = {"error_code", "error_message", "error_detail"}


def assert_error(resp, status: int, code: int) -> dict:  # type: ignore[no-untyped-def]
    """The one error shape: status, JSON, exactly the three keys, the expected code."""
    assert resp.status_code == status, resp.content
    assert resp["Content-Type"].startswith("application/json"), resp["Content-Type"]
    body = resp.json()
    assert set(body) == ERROR_KEYS, body
    assert body["error_code"] == code, body
    assert isinstance(body["error_message"], str)
    assert body["error_message"]
    assert isinstance(body["error_detail"], list)
    return body


def token_client(user: User) -> APIClient:
    """A fresh client that authenticates with the user's real token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return client
