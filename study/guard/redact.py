"""Credentials out of what is written or printed: ``scheme://user:***@host`` instead of the password,
``?password=***`` (or ``token``, ``secret``, ...) instead of a secret query parameter.

A tracking URI such as ``http://me:secret@mlflow:5000`` or ``postgresql://me@db/mlflow?password=secret``
is kept as given only in memory (and the process environment, ``remember``); ``study.json``,
``driver.lock``, the printed resume command, every message, and every object that Ray or Optuna pickle
into the study folder hold its redacted form, which ``unredact`` turns back into the real one where a
client is opened. ``client_uri`` is what MLflow is given: for a server, the URI without its
``user:password@``, whose parts reach MLflow through ``MLFLOW_TRACKING_USERNAME`` /
``MLFLOW_TRACKING_PASSWORD`` instead (MLflow prints and raises with the URI it was given). Credentials
that come from the environment (those two, ``MLFLOW_TRACKING_TOKEN``) are never written or printed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

HIDDEN = "***"
URI_FLAGS = ("--tracking-uri", "--address")
SECRET_ENV = "IPS_TRACKING_URI"  # the real URI, for this process and those it starts (Ray's, on this node)
# A query parameter whose name (lower case) holds one of these carries a secret.
SECRET_PARAM_WORDS = ("pass", "pwd", "token", "secret", "apikey", "api_key", "credential", "signature")
SERVER_SCHEMES = ("http", "https")
USERNAME_ENV, PASSWORD_ENV = "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"


def is_secret_param(name: str) -> bool:
    return any(word in unquote(name).lower() for word in SECRET_PARAM_WORDS)


def redact_query(query: str) -> str:
    """``a=1&password=x`` -> ``a=1&password=***`` (every other byte of the query as given)."""
    pieces = []
    for piece in query.split("&"):
        name, equals, value = piece.partition("=")
        pieces.append(f"{name}={HIDDEN}" if equals and value and is_secret_param(name) else piece)
    return "&".join(pieces)


def redact_uri(uri: str) -> str:
    """``uri`` with the password of its user part and its secret query parameters replaced by ``***``
    (unchanged if it has none)."""
    try:
        parts = urlsplit(uri)
        password = parts.password
    except ValueError:  # not parseable: shown as given, it holds no user:password@ part we can find
        return uri
    if password is not None:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username}:{HIDDEN}@{host}")
    if parts.query:
        parts = parts._replace(query=redact_query(parts.query))
    return parts.geturl() if parts != urlsplit(uri) else uri


def is_redacted(uri: str) -> bool:
    """Whether ``uri`` is the redacted form of a URI with a secret (as ``study.json`` keeps it)."""
    try:
        parts = urlsplit(uri)
        if parts.password == HIDDEN:
            return True
    except ValueError:
        return False
    pieces = (piece.partition("=") for piece in parts.query.split("&"))
    return any(value == HIDDEN and is_secret_param(name) for name, _, value in pieces)


def redact_argv(argv: Sequence[str]) -> list[str]:
    """A command line with the URIs after ``--tracking-uri`` / ``--address`` (or ``=``) redacted."""
    words: list[str] = []
    for position, word in enumerate(argv):
        flag, equals, value = word.partition("=")
        if equals and flag in URI_FLAGS:
            words.append(f"{flag}={redact_uri(value)}")
        elif position > 0 and argv[position - 1] in URI_FLAGS:
            words.append(redact_uri(word))
        else:
            words.append(word)
    return words


def remember(uri: str) -> None:
    """Keep a URI with a secret in the environment, for ``unredact`` (here and in Ray's workers)."""
    if redact_uri(uri) != uri:
        os.environ[SECRET_ENV] = uri


def unredact(uri: str) -> str:
    """The real URI of a redacted one, as ``remember`` kept it; any other URI as given."""
    real = os.environ.get(SECRET_ENV, "")
    return real if is_redacted(uri) and real and redact_uri(real) == uri else uri


def client_uri(uri: str) -> str:
    """The URI to open an MLflow client with (``uri`` may be redacted): the real one, and for a server
    the real one without its ``user:password@``, which this sets as ``MLFLOW_TRACKING_USERNAME`` and
    ``MLFLOW_TRACKING_PASSWORD`` in this process's environment for MLflow to send."""
    real = unredact(uri)
    try:
        parts = urlsplit(real)
        user, password = parts.username, parts.password
    except ValueError:
        return real
    if parts.scheme.lower() not in SERVER_SCHEMES or password is None:
        return real
    os.environ[USERNAME_ENV] = unquote(user or "")
    os.environ[PASSWORD_ENV] = unquote(password)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
