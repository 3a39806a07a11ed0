"""Invalidation messages: what an instance publishes on the namespace's channel after a write.

A message is the writer's instance id (16 hex digits), an operation (``k``: one key, followed
by its encoded form; ``c``: the namespace was cleared) and its payload. With ``secret=`` it is
prefixed by an HMAC-SHA256 over the channel and the message, and a message whose signature is
missing or wrong is ignored (and counted): without the secret, nobody who can PUBLISH on the
channel can drop another instance's entries. Without a secret every publisher is trusted.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["IID_SIZE", "BadMessage", "parse", "sign"]

IID_SIZE = 16
_MAC_SIZE = 32


class BadMessage(ValueError):
    """A message that is malformed, or unsigned / wrongly signed while a secret is set."""


def _mac(secret: bytes, channel: bytes, body: bytes) -> bytes:
    mac = hmac.new(secret, b"m%d:" % len(channel), hashlib.sha256)
    mac.update(channel)
    mac.update(body)
    return mac.digest()


def sign(secret: bytes | None, channel: bytes, body: bytes) -> bytes:
    """The message to publish for ``body`` (instance id + op + payload)."""
    if secret is None:
        return body
    return _mac(secret, channel, body) + body


def parse(secret: bytes | None, channel: bytes, data: object) -> tuple[bytes, bytes, bytes]:
    """(instance id, op, payload) of a received message; BadMessage if it is malformed or, with
    a secret, not signed with it."""
    if not isinstance(data, bytes):
        raise BadMessage("not bytes")
    if secret is not None:
        mac, data = data[:_MAC_SIZE], data[_MAC_SIZE:]
        if len(mac) != _MAC_SIZE or not hmac.compare_digest(mac, _mac(secret, channel, data)):
            raise BadMessage("missing or bad signature")
    if len(data) < IID_SIZE + 1:
        raise BadMessage("too short")
    op = data[IID_SIZE : IID_SIZE + 1]
    if op not in (b"k", b"c"):
        raise BadMessage(f"unknown operation {op!r}")
    return data[:IID_SIZE], op, data[IID_SIZE + 1 :]
