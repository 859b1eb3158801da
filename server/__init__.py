"""Hush's HTTP endpoint and the ``hush`` command line.

``create_app`` is the Flask app factory; it lives in :mod:`server.app`.
"""

from server.app import create_app

__all__ = ["create_app"]
