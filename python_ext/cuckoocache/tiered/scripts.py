"""Lua scripts TieredCache runs on the Redis server: one round trip each, and the write and its
invalidation message in one atomic step. Each touches one key, so they also run on Redis
Cluster (and PUBLISH from a script reaches subscribers on every node)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["DEL_SCRIPT", "SETNX_SCRIPT", "SET_SCRIPT", "UNLOCK_SCRIPT", "Script"]


class Script:
    """A registered script, called as redis-py's ``Script`` is (``script(keys=, args=)``) but
    straight through ``EVALSHA``: redis-py's ``Script.__call__`` imports and type-checks on
    every call, a measurable part of a write. If the server does not know the script
    (restarted, ``SCRIPT FLUSH``), redis-py's ``Script`` loads it and runs it."""

    __slots__ = ("_evalsha", "_noscript", "_script")

    def __init__(self, client: Any, source: str) -> None:
        from redis.exceptions import NoScriptError

        self._script = client.register_script(source)
        self._evalsha = client.evalsha
        self._noscript = NoScriptError

    def __call__(self, keys: Sequence[Any], args: Sequence[Any] = ()) -> Any:
        try:
            return self._evalsha(self._script.sha, len(keys), *keys, *args)
        except self._noscript:
            return self._script(keys=keys, args=args)


# KEYS[1] value key; ARGV: payload, px (0: no expiry), channel, message
SET_SCRIPT = """
if ARGV[2] == '0' then redis.call('SET', KEYS[1], ARGV[1])
else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
"""
# KEYS[1] value key; ARGV: channel, message. Returns the old payload (or nil).
DEL_SCRIPT = """
local old = redis.call('GETDEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return old
"""
# KEYS[1] value key; ARGV: payload, px, channel, message. Returns the existing payload, or nil
# if it stored ARGV[1].
SETNX_SCRIPT = """
local old = redis.call('GET', KEYS[1])
if old then return old end
if ARGV[2] == '0' then redis.call('SET', KEYS[1], ARGV[1])
else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return false
"""
# KEYS[1] lock key; ARGV[1] token. Deletes the lock only if this instance still holds it.
UNLOCK_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
