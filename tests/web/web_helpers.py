"""Helpers the workbench tests import (fixtures are in conftest.py)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
SECRET = "Zebulon-psychotherapy-session-note"  # text of a record no role may see by default


def sign_in(client: TestClient, username: str, password: str = PASSWORD):
    """Sign in through the form as a browser would; returns the final response."""
    form = client.get("/signin")
    token = re.search(r'name="signin_token" value="([^"]+)"', form.text).group(1)
    return client.post(
        "/signin", data={"username": username, "password": password, "signin_token": token}
    )


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
