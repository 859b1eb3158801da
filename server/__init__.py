"""Hush's HTTP endpoint and the ``hush`` command line.

``create_app`` is the Flask app factory; it lives in :mod:`server.app` and is imported on first use,
so that ``hush`` starts without loading Flask and the model's libraries before it needs them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from server.app import create_app

        return create_app
    raise AttributeError(f"module 'server' has no attribute {name!r}")
