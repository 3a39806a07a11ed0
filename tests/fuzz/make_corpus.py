#!/usr/bin/env python3
"""Writes the seed corpus of cache_fuzz (tests/fuzz/corpus/) from readable op lists.

Run from anywhere: python3 tests/fuzz/make_corpus.py. Rewrites the files it owns, leaves any
others in corpus/ alone. The byte format (see cache_fuzz.cpp, LLVMFuzzerTestOneInput and
Harness::step):

  header, 5 bytes:
    b0  max_size = 1 + b0 % 32
    b1  bits 0-1 policy (0 lru, 1 lfu, 2 ttl, 3 adaptive), bit 2 admission, bit 3 colliding
        hash (k % 3), bit 4 default_ttl = TTL[b4], bit 5 clock starts at 2^64 - 2^40
    b2  sample_size = 1 + b2 % 64; bits 6-7 adaptive_threshold (0.7, 0.01, 0.5, 1.0)
    b3  key space = 1 + b3 % 64
    b4  default TTL index; clock start = 1 + (b4 >> 4) unless b1 bit 5
  then operations: an opcode byte (index into kOpTable, modulo its length) and its arguments.
"""

from __future__ import annotations

import pathlib

# Index of each operation in cache_fuzz.cpp's kOpTable, and how many argument bytes it reads.
OPS = {
    "put": (0, 1),  # key
    "put_ttl": (4, 2),  # key, ttl index
    "get": (6, 2),  # key, bit 0: get(key, out)
    "erase": (10, 1),  # key
    "contains": (11, 2),  # key, bit 0: then get
    "clear": (13, 0),
    "set_max_size": (14, 1),  # 1 + b % 48, or 100/1000/70000 when b >= 0xe0
    "set_policy": (15, 1),  # b & 3
    "advance": (16, 1),  # ADVANCE index
    "cleanup": (18, 0),
    "take": (19, 1),  # key
    "put_if_absent": (20, 2),  # key, bit 0: ttl = TTL[b >> 1]
    "get_or_insert": (22, 2),  # key, bit 0: ttl = TTL[b >> 1]
    "snapshot": (24, 0),
    "set_default_ttl": (25, 1),  # bit 0: ttl = TTL[b >> 1], else none
    "reset_stats": (26, 0),
    "get_or_insert_throws": (27, 2),  # key, ttl byte as get_or_insert
    "bad_argument": (28, 2),  # which (b % 6; bit 3: ttl -1 instead of 0), key
    "expire_sample": (29, 2),  # samples 1 + b % 32, rounds 1 + b % 4
    "peek": (30, 1),  # key
    "put_guarded": (31, 2),  # key, bit 0 if-absent, bit 1 guard refuses, bit 2 ttl TTL[b >> 3]
    "inspect": (33, 1),  # key
    "for_each_entry": (34, 0),
}

# Indices into cache_fuzz.cpp's tables.
TTL = {1: 0, 2: 1, 3: 2, 5: 3, 10: 4, 50: 5, 100: 6, 1000: 7}
ADV = {0: 0, 1: 1, 2: 3, 3: 4, 5: 5, 10: 6, 49: 7, 50: 8, 51: 9, 100: 10, 1000: 11, "huge": 14}
POLICY = {"lru": 0, "lfu": 1, "ttl": 2, "adaptive": 3}


def header(
    max_size: int,
    policy: str,
    *,
    admission: bool = False,
    colliding: bool = False,
    default_ttl: int | None = None,
    high_clock: bool = False,
    sample_size: int = 5,
    keys: int = 8,
) -> bytes:
    b1 = POLICY[policy] | (4 if admission else 0) | (8 if colliding else 0)
    b1 |= (16 if default_ttl is not None else 0) | (32 if high_clock else 0)
    b4 = TTL[default_ttl] if default_ttl is not None else 0
    return bytes([max_size - 1, b1, sample_size - 1, keys - 1, b4])


def ops(*steps: tuple) -> bytes:
    out = bytearray()
    for name, *args in steps:
        index, nargs = OPS[name]
        args = list(args) + [0] * (nargs - len(args))
        assert len(args) == nargs, (name, args)
        out.append(index)
        out.extend(args)
    return bytes(out)


def fill(keys: range) -> list[tuple]:
    return [("put", k) for k in keys]


SEEDS: dict[str, bytes] = {
    # Every policy filling past capacity, then reading back.
    "lru_fill_and_read": header(4, "lru")
    + ops(*fill(range(8)), *[("get", k) for k in range(8)], ("snapshot",), ("for_each_entry",)),
    "lfu_hot_keys": header(4, "lfu")
    + ops(
        *fill(range(4)),
        *[("get", 1), ("get", 2)] * 4,
        *fill(range(4, 8)),
        ("get", 1, 1),
        ("get", 2),
        ("for_each_entry",),
    ),
    "ttl_policy_mixed_deadlines": header(3, "ttl")
    + ops(
        ("put_ttl", 0, TTL[10]),
        ("put", 1),
        ("put_ttl", 2, TTL[100]),
        ("put", 3),
        ("advance", ADV[10]),
        ("get", 0),
        ("get", 2),
        ("snapshot",),
    ),
    "adaptive_window_and_main": header(6, "adaptive", keys=16)
    + ops(
        *fill(range(16)),
        *[("get", k % 4) for k in range(12)],
        *fill(range(8, 16)),
        ("set_max_size", 3),
        ("for_each_entry",),
    ),
    # Expiry exactly at the deadline, revival of an expired key, cleanup and sampling.
    "expiry_boundary": header(8, "lru")
    + ops(
        ("put_ttl", 0, TTL[50]),
        ("put_ttl", 1, TTL[50]),
        ("advance", ADV[49]),
        ("get", 0),
        ("advance", ADV[1]),
        ("contains", 1, 1),
        ("get", 0),
        ("put", 1),
        ("get", 1),
        ("cleanup",),
    ),
    "default_ttl_cleanup_expire_sample": header(8, "lfu", default_ttl=100, keys=12)
    + ops(
        *fill(range(6)),
        ("advance", ADV[50]),
        ("put_if_absent", 6, 1 | (TTL[10] << 1)),
        ("set_default_ttl", 0),
        ("put", 7),
        ("advance", ADV[50]),
        ("expire_sample", 31, 3),
        ("inspect", 0),
        ("cleanup",),
        ("snapshot",),
    ),
    # Deadlines that saturate at UINT64_MAX, and a clock that reaches it.
    "saturated_deadlines": header(4, "ttl", high_clock=True, keys=4)
    + ops(
        ("put_ttl", 0, 11),  # INT64_MAX: saturates
        ("put_ttl", 1, TTL[1000]),
        ("put_ttl", 2, 11),
        ("advance", ADV[1000]),
        ("get", 0),
        ("get", 1),
        ("advance", ADV["huge"]),  # the clock stops at UINT64_MAX: saturated deadlines expire
        ("get", 0),
        ("take", 2),
        ("put_ttl", 3, TTL[1]),  # born expired
        ("cleanup",),
    ),
    # Chains: every key hashes to one of three values.
    "colliding_chains_guarded": header(6, "lru", colliding=True, keys=12)
    + ops(
        *fill(range(9)),
        ("erase", 0),
        ("take", 3),
        ("put_guarded", 6, 0),
        ("put_guarded", 9, 2),
        ("put_guarded", 10, 1),
        ("put_guarded", 11, 3),
        ("inspect", 6),
        ("get", 6),
        ("for_each_entry",),
    ),
    "admission_rejections": header(3, "lru", admission=True, keys=10)
    + ops(*fill(range(3)), *[("get", 0), ("get", 1)] * 3, *fill(range(3, 10)), ("snapshot",)),
    # Capacity and policy changes at run time, including a large growth (arena growth).
    "resize_and_switch_policy": header(8, "lru", keys=40)
    + ops(
        *fill(range(8)),
        ("set_policy", 3),
        *fill(range(8, 16)),
        ("set_max_size", 1),
        ("set_policy", 1),
        ("set_max_size", 0xE2),  # 70000
        *fill(range(16, 40)),
        ("set_policy", 2),
        ("set_max_size", 4),
        ("for_each_entry",),
    ),
    # get_or_insert (hit, miss, throwing factory), put_if_absent, peek, clear, reset_stats.
    "get_or_insert_and_friends": header(5, "lfu", keys=6)
    + ops(
        ("get_or_insert", 0, 0),
        ("get_or_insert", 0, 0),
        ("get_or_insert_throws", 1, 0),
        ("get_or_insert_throws", 0, 0),
        ("put_if_absent", 0, 0),
        ("put_if_absent", 2, 1 | (TTL[5] << 1)),
        ("peek", 2),
        ("advance", ADV[5]),
        ("peek", 2),
        ("reset_stats",),
        ("clear",),
        ("get", 0),
        ("put", 0),
    ),
    # Bad arguments of every kind change nothing.
    "bad_arguments": header(4, "adaptive", keys=4)
    + ops(
        *fill(range(4)),
        *[("bad_argument", which, 1) for which in range(6)],
        ("bad_argument", 8 | 2, 2),
        ("bad_argument", 8 | 5, 3),
        ("snapshot",),
    ),
}


def main() -> None:
    corpus = pathlib.Path(__file__).resolve().parent / "corpus"
    corpus.mkdir(exist_ok=True)
    for name, data in SEEDS.items():
        (corpus / name).write_bytes(data)
    print(f"wrote {len(SEEDS)} seeds to {corpus}")


if __name__ == "__main__":
    main()
