"""Server settings: defaults, then ``HUSH_*`` environment variables, then an explicit dict."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}  # left out of an Origin header

DEFAULTS: dict[str, Any] = {
    "MODEL": None,  # an already-loaded model object (tests share one); else loaded from MODEL_PATH
    "MODEL_PATH": None,  # None: the shipped model
    "TOKEN": None,  # when set, every /v1/ request needs "Authorization: Bearer <token>"
    "MAX_BYTES": DEFAULT_MAX_BYTES,  # bound on a request body, after gzip decompression
    "CORS_ORIGIN": None,  # the one origin allowed to call from a browser page; None: no CORS headers
    "LOG_URLS": False,  # log the page url and query string of each request
}

ENV_VARS = {
    "MODEL_PATH": "HUSH_MODEL",
    "TOKEN": "HUSH_TOKEN",
    "MAX_BYTES": "HUSH_MAX_BYTES",
    "CORS_ORIGIN": "HUSH_CORS_ORIGIN",
    "LOG_URLS": "HUSH_LOG_URLS",
}

# Given but empty, these would fall back quietly to the shipped model or to no token at all (an
# `HUSH_TOKEN=` left in an env file, a token command that failed): refused instead.
NOT_EMPTY = ("MODEL_PATH", "TOKEN")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class ConfigError(ValueError):
    """A setting has a value the server cannot use; the message names the setting."""


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings given by ``HUSH_*`` variables; empty ones count as unset, but for those in NOT_EMPTY,
    which are kept (empty) for ``resolve`` to refuse."""
    environ = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for key, var in ENV_VARS.items():
        value = environ.get(var)
        if value is not None and (value.strip() or key in NOT_EMPTY):
            found[key] = value.strip()
    return found


def resolve(
    config: Mapping[str, Any] | None = None, names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Defaults, overridden by the environment, overridden by ``config``; checked and normalised. Errors
    name a setting as it was given: its variable, or its name in ``names`` (a command line's flags)."""
    env = from_env()
    config = config or {}
    settings = {**DEFAULTS, **env, **config}

    def name(key: str) -> str:
        return (names or {}).get(key, key) if key in config or key not in env else ENV_VARS[key]

    settings["MAX_BYTES"] = _positive_int(name("MAX_BYTES"), settings["MAX_BYTES"])
    settings["LOG_URLS"] = _boolean(name("LOG_URLS"), settings["LOG_URLS"])
    for key in ("MODEL_PATH", "TOKEN", "CORS_ORIGIN"):
        value = settings[key]
        if value is not None and not isinstance(value, str | os.PathLike):
            raise ConfigError(f"{name(key)} must be a string, got {type(value).__name__}")
        if key in NOT_EMPTY and value is not None and not str(value).strip():
            raise ConfigError(f"{name(key)} is given but empty: give a value, or leave it out")
        settings[key] = str(value) if value not in (None, "") else None
    if settings["CORS_ORIGIN"] is not None:
        settings["CORS_ORIGIN"] = _origin(name("CORS_ORIGIN"), settings["CORS_ORIGIN"])
    token = settings["TOKEN"]
    if token is not None and not re.fullmatch(r"[\x21-\x7e]+", token):
        # HTTP headers carry bytes: a client would send other characters in an encoding the server may
        # not read them back in, and the token would never match.
        raise ConfigError(
            f"{name('TOKEN')} must be printable ASCII without spaces (letters, digits, punctuation)"
        )
    return settings


def _origin(label: str, value: str) -> str:
    """One origin as browsers send it in ``Origin`` (scheme and host in lower case, no default port, no
    '/' at the end): spelt otherwise it would never match, and CORS would fail with nothing said."""
    given = f"{label} must name one origin such as https://example.org, got {value!r}"
    if value == "*":
        raise ConfigError(f"{given}: not '*'")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError:
        raise ConfigError(given) from None
    if not parts.scheme or not parts.hostname or parts.username is not None or parts.password is not None:
        raise ConfigError(given)
    if "," in value or " " in value.strip():
        raise ConfigError(f"{given}: one origin only")
    if parts.path not in ("", "/") or parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ConfigError(f"{given}: no path, query or fragment")
    scheme, host = parts.scheme.lower(), parts.netloc.lower()  # a '/' at the end goes, as browsers drop it
    if parts.port is not None and DEFAULT_PORTS.get(scheme) == parts.port:
        host = host.rpartition(":")[0]  # browsers leave the scheme's own port out
    if not host.isascii():
        raise ConfigError(f"{given}: write an international name as browsers send it (xn--…)")
    return f"{scheme}://{host}"


def _positive_int(key: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a whole number of bytes, got {value!r}") from None
    if isinstance(value, bool) or number <= 0:
        raise ConfigError(f"{key} must be a positive number of bytes, got {value!r}")
    return number


def _boolean(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ConfigError(f"{key} must be true or false, got {value!r}")
