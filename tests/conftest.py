"""Shared fixtures. Server: one shipped model per session, a fresh app and test client per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from model import load_model
from server import create_app
from server.config import ENV_VARS


@pytest.fixture(scope="session")
def hush_model() -> Any:
    """The shipped model, loaded once and shared by every app the tests build."""
    return load_model()


@pytest.fixture
def app(hush_model: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An app with default settings, whatever HUSH_* variables the shell has set."""
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    app = create_app({"MODEL": hush_model, "TESTING": True})
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
