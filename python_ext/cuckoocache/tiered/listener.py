"""The listener thread: one per tier, subscribed to the namespace's invalidation channel.

It applies other instances' invalidations to the local tier, pings Redis, and owns recovery:
when the breaker is open it reconnects with backoff, replays the tombstones, flushes the local
tier and closes the breaker. It holds the tier only through a weak reference, so a tier that
is no longer used is collected and its listener exits.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from .counters import FLUSHES, L2_ERRORS

if TYPE_CHECKING:
    from .tier import TieredCache

__all__ = ["recover", "start_listener"]


Loop = Callable[["weakref.ReferenceType[TieredCache]", threading.Event], None]


def start_listener(tier: TieredCache, loop: Loop | None = None) -> None:
    """Starts (or restarts, after fork) the tier's listener thread, running ``loop(ref,
    stop)`` (default: the single-server loop below; the cluster listener passes its own)."""
    tier._stop = threading.Event()
    tier._subscribed = threading.Event()
    thread = threading.Thread(
        target=_listen if loop is None else loop,
        args=(weakref.ref(tier), tier._stop),
        name=f"cuckoocache-tier-{tier._namespace}",
        daemon=True,
    )
    tier._listener = thread
    weakref.finalize(tier, tier._stop.set)
    thread.start()


def _listen(ref: weakref.ReferenceType[TieredCache], stop: threading.Event) -> None:
    """The listener thread: subscribe, recover, apply invalidations; on any failure mark the
    tier local-only and reconnect with backoff. Holds the tier only through ``ref``."""
    delay = 0.05
    while not stop.is_set():
        tier = ref()
        if tier is None:
            return
        breaker = tier._breaker
        errors = breaker.errors
        pubsub = None
        try:
            pubsub = tier._redis.pubsub()
            pubsub.subscribe(tier._channel)
            channel = tier._channel
            interval = tier._health_interval
            subscriptions = 0
            last_seen = time.monotonic()
            last_ping = last_seen
            next_recovery = 0.0
            recovery_delay = 0.05
            del tier
            while not stop.is_set():
                msg = pubsub.get_message(timeout=0.1)
                now = time.monotonic()
                tier = ref()
                if tier is None:
                    return
                if msg is not None:
                    last_seen = now
                    kind = msg["type"]
                    if kind == "message" and msg["channel"] == channel:
                        tier._on_message(msg["data"])
                    elif kind == "subscribe":
                        # First subscription, or redis-py resubscribed after a reconnection
                        # of its own: messages may have been missed either way.
                        subscriptions += 1
                        breaker.trip()
                if not breaker.ok and not stop.is_set():
                    if subscriptions == 0:
                        if now - last_seen > max(3 * interval, 2.0):
                            raise tier._redis_mod.TimeoutError("no subscription confirmation")
                    elif now >= next_recovery:
                        # Subscribed, and the data path failed (or we just subscribed): check
                        # Redis, replay the writes made meanwhile, flush, resume.
                        try:
                            tier._redis.ping()
                            tier._clock.sync(tier._redis)
                            recover(tier)
                            tier._subscribed.set()
                            delay = recovery_delay = 0.05
                        except errors:
                            tier._counters.add(L2_ERRORS)
                            next_recovery = now + recovery_delay
                            recovery_delay = min(recovery_delay * 2, 1.0)
                if now - last_ping >= interval:
                    pubsub.ping()
                    last_ping = now
                    if breaker.ok:
                        try:
                            tier._clock.sync(tier._redis)  # follow the server's clock
                        except errors:
                            tier._counters.add(L2_ERRORS)
                if now - last_seen > 3 * interval:
                    raise tier._redis_mod.TimeoutError("the invalidation subscription went silent")
                del tier
        except errors:
            tier = ref()
            if tier is None:
                return
            tier._counters.add(L2_ERRORS)
            tier._breaker.trip()
            tier._subscribed.set()  # the first attempt is over (failed): stop waiting in __init__
            del tier
        except Exception:  # pragma: no cover - a bug must not kill invalidation silently
            import traceback

            traceback.print_exc()
            tier = ref()
            if tier is not None:
                tier._breaker.trip()
                del tier
        finally:
            if pubsub is not None:
                try:
                    pubsub.close()
                except Exception:
                    pass
        stop.wait(delay)
        delay = min(delay * 2, 1.0)


def recover(tier: TieredCache) -> None:
    """After (re)subscribing: replay the writes and deletes made while cut off (delete those
    keys in Redis and invalidate them everywhere), then flush the local tier and close the
    breaker. Raises a Redis error if Redis fails meanwhile (the tombstones are kept)."""
    while True:
        with tier._lock:
            batch, overflow = tier._tomb.take()
            if not batch and not overflow:
                if tier._closed:
                    return
                tier._watches.epoch += 1
                tier._lclear()
                tier._breaker.ok = True
                break
        try:
            if overflow:
                tier._clear_l2()
            n = len(tier._prefix)
            for rkey in batch:
                message = tier._message(b"k", rkey[n:])
                tier._del_script(keys=[rkey], args=[tier._channel, message])
        except BaseException:
            with tier._lock:
                tier._tomb.restore(batch, overflow)
            raise
    tier._counters.add(FLUSHES)
