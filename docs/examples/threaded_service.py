"""A small threaded service in front of a slow backend, cached with cuckoocache.

A ThreadPoolExecutor plays the request handlers of a web service. A request either asks for a
user's record (an API call) or for the user's rendered profile page. Both need slow backend calls:

- ``fetch_user(user_id)``: a database read, memoized with ``@cached(ttl_seconds=...)``;
- ``fetch_feature_flags()``: a configuration fetch whose result may go stale, cached with a
  short TTL so that it is refreshed after it expires.

Rendered pages go into a shared ``SmartCache`` through ``get_or_set``. Many requests for the
same user arrive at the same time, so many threads miss the same key together: both
``@cached`` and ``get_or_set`` are single-flight, and each slow call runs once per key.

Run it as a script (from the repository root, with cuckoocache installed):

    python docs/examples/threaded_service.py

It prints a short summary and exits with status 0; the asserts at the end check that the caching
worked. It takes a little over a second, most of it a deliberate wait for a TTL to run out.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cuckoocache import EvictionPolicy, SmartCache, cached

BACKEND_DELAY = 0.05  # seconds per backend call
FLAGS_TTL = 0.5  # seconds before the feature flags are fetched again
WORKERS = 8
USERS = 20
REQUESTS_PER_BATCH = 300

backend_calls: Counter[Any] = Counter()  # (what, key) -> how many times the backend ran
render_calls: Counter[int] = Counter()
_calls_lock = threading.Lock()


def _count(counter: Counter[Any], key: Any) -> None:
    with _calls_lock:
        counter[key] += 1


@cached(max_size=1024, ttl_seconds=60)
def fetch_user(user_id: int) -> dict[str, Any]:
    """The slow database read."""
    _count(backend_calls, ("user", user_id))
    time.sleep(BACKEND_DELAY)
    return {"id": user_id, "name": f"user-{user_id}", "plan": "pro" if user_id % 3 else "free"}


@cached(max_size=1, ttl_seconds=FLAGS_TTL)
def fetch_feature_flags() -> dict[str, bool]:
    """The slow configuration fetch; its result may go stale, hence the short TTL."""
    _count(backend_calls, ("flags", None))
    time.sleep(BACKEND_DELAY)
    return {"new_profile_layout": True}


# Rendered pages, shared by every handler thread. LRU with a TTL: pages are dropped after
# 30 s, and the least recently used go first if the cache fills up.
pages = SmartCache(max_size=10_000, policy=EvictionPolicy.LRU, ttl_seconds=30)


def render_profile(user_id: int) -> str:
    _count(render_calls, user_id)
    user = fetch_user(user_id)
    layout = "new" if fetch_feature_flags()["new_profile_layout"] else "old"
    return f"<h1>{user['name']}</h1><p>plan: {user['plan']}, layout: {layout}</p>"


def handle_request(request: tuple[str, int]) -> str:
    """One request: ("api", user_id) or ("profile", user_id)."""
    kind, user_id = request
    if kind == "api":
        user = fetch_user(user_id)
        return f'{{"id": {user["id"]}, "name": "{user["name"]}"}}'
    # The page from the shared cache, rendered once per user.
    page: str = pages.get_or_set(("profile", user_id), lambda: render_profile(user_id))
    return page


def serve(pool: ThreadPoolExecutor, requests: list[tuple[str, int]]) -> list[str]:
    return list(pool.map(handle_request, requests))


def main() -> None:
    rng = random.Random(42)
    kinds = ["api", "profile"]
    batch1 = [(rng.choice(kinds), rng.randrange(USERS)) for _ in range(REQUESTS_PER_BATCH)]
    batch1[:USERS] = [("profile", user_id) for user_id in range(USERS)]  # every user's page
    batch2 = [("profile", USERS + i % 5) for i in range(50)]  # pages of five new users
    started = time.monotonic()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        responses = serve(pool, batch1)
        flags_in_batch1 = backend_calls["flags", None]
        batch1_elapsed = time.monotonic() - started
        # Let the feature flags expire, then serve users whose pages are not cached yet:
        # rendering them needs the flags again, and several threads fetch them together.
        time.sleep(FLAGS_TTL * 1.5)
        batch2_started = time.monotonic()
        responses += serve(pool, batch2)
        batch2_elapsed = time.monotonic() - batch2_started

    elapsed = time.monotonic() - started
    users_seen = {user_id for _, user_id in batch1 + batch2}
    profile_requests = sum(1 for kind, _ in batch1 + batch2 if kind == "profile")
    user_fetches = sum(n for (what, _), n in backend_calls.items() if what == "user")
    flag_fetches = backend_calls["flags", None]

    user_info = fetch_user.cache_info()  # type: ignore[attr-defined]
    page_stats = pages.stats()
    print(f"requests served:       {len(responses)} on {WORKERS} threads in {elapsed:.2f} s")
    print(f"distinct users:        {len(users_seen)}")
    print(f"fetch_user runs:       {user_fetches}")
    print(f"pages rendered:        {sum(render_calls.values())}")
    print(f"feature-flag fetches:  {flag_fetches} ({flags_in_batch1} before they expired)")
    print(f"fetch_user.cache_info: {user_info}")
    print(
        f"page cache:            hits={page_stats['hits']} misses={page_stats['misses']} "
        f"size={page_stats['current_size']} hit_rate={page_stats['hit_rate']:.2f}"
    )

    # The caching worked: every slow call ran once per key, although many threads missed the
    # same key at the same time (single-flight), and every page was rendered once.
    for user_id in users_seen:
        assert backend_calls["user", user_id] == 1, (user_id, backend_calls["user", user_id])
        assert render_calls[user_id] == 1, (user_id, render_calls[user_id])
    assert len(pages) == len(users_seen)
    # fetch_user was called by every API request and every page render. A call counts a hit
    # or a miss; a thread that waited for another's fetch counted a miss, so misses can exceed
    # the backend runs.
    api_requests = len(responses) - profile_requests
    assert user_info.hits + user_info.misses == api_requests + len(users_seen), user_info
    assert user_info.misses >= user_fetches and user_info.hits > 0, user_info
    # Every profile request looked its page up once: a hit, or a miss that rendered the page or
    # waited for the thread rendering it (at most one miss per worker thread and user).
    assert page_stats["hits"] + page_stats["misses"] == profile_requests
    assert page_stats["misses"] <= WORKERS * len(users_seen)
    # The flags were fetched at most once per TTL period, and again after they expired.
    assert 1 <= flags_in_batch1 <= 1 + batch1_elapsed / FLAGS_TTL, flags_in_batch1
    assert 1 <= flag_fetches - flags_in_batch1 <= 1 + batch2_elapsed / FLAGS_TTL, flag_fetches
    # Each response is the page of the user asked for.
    for (kind, user_id), response in zip(batch1 + batch2, responses):
        expected = f'"id": {user_id},' if kind == "api" else f"<h1>user-{user_id}</h1>"
        assert expected in response, (kind, user_id, response)
    print("ok")


if __name__ == "__main__":
    main()
