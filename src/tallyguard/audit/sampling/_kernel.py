"""The hot loop of the consistent sampler: one SHA-256 per ballot, keys, partial selection.

Rivest, R.L. (2018). "Consistent Sampling with Replacement." arXiv:1808.10016.

The reference (``consistent-sampler`` 1.0.10) spends about 5.5 µs per id: it hashes
``seed_hash + str(id)`` from scratch, formats the 256-bit hash as up to 78
decimal digits, reverses them and pushes the string on a heap. Here:

* the hasher is fed the seed hash (exactly one 64-byte SHA-256 block) and, for a
  manifest, the text common to every ballot of a batch, ``"(('J', 'B'), "``, once;
  each ballot costs one ``copy()``, one ``update(b"7)")`` and one ``digest()``;
* numpy turns a block of digests into sort keys: the first
  :data:`~tallyguard.audit.sampling.tickets.KEY_DIGITS` digits of the ticket,
  which are the *reversed* low decimal digits of the hash, ``x mod 10**9``
  (computed from four 64-bit words without any 256-bit arithmetic);
* a running partial selection (``numpy.partition``) keeps only the ballots whose
  key is at most the ``need``-th smallest so far, ties included.

A key is a prefix of the ticket, so a smaller key means a smaller ticket; the
candidates are then ordered exactly, on full tickets, by the caller. Work on a
large population is split over processes (contiguous index ranges); each returns
its own candidates and the caller merges them the same way.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Final

import numpy as np
from numpy.typing import NDArray

from tallyguard.audit.sampling.tickets import KEY_DIGITS

Keys = NDArray[np.uint64]
Indices = NDArray[np.int64]
#: A run of consecutive ballots of one batch: (id text before the position, first
#: position, last position, global index of the first position).
Segment = tuple[str, int, int, int]

BLOCK: Final = 1 << 17
_MOD: Final = 10**KEY_DIGITS
_WORD_WEIGHTS: Final = tuple(pow(2, 64 * (3 - i), _MOD) for i in range(4))
_GROUP: Final = 1000
_REV3: Final = np.array([int(f"{v:03d}"[::-1]) for v in range(_GROUP)], dtype=np.uint64)


def keys_from_digests(digests: bytes) -> Keys:
    """Sort keys of a run of concatenated 32-byte SHA-256 digests.

    Args:
        digests: ``n * 32`` bytes.

    Returns:
        For each digest ``x`` (big-endian), the integer whose 9 decimal digits
        are those of ``x mod 10**9`` read from the least significant one:
        the ticket's first 9 fraction digits.
    """
    # one contiguous row per 64-bit word of the digests (big-endian in the digest)
    words = np.frombuffer(digests, dtype=np.uint64).reshape(-1, 4).T.copy()
    if sys.byteorder == "little":
        words.byteswap(inplace=True)
    mod = np.uint64(_MOD)
    low = np.zeros(words.shape[1], dtype=np.uint64)
    for word, weight in zip(words, _WORD_WEIGHTS, strict=True):
        # (word mod 1e9) * weight < 1e18, and four of them < 4e18 < 2**64: no overflow;
        # a - (a // m) * m is faster than a % m in numpy (libdivide floor division)
        low += (word - (word // mod) * mod) * np.uint64(weight)
    low -= (low // mod) * mod
    group = np.uint64(_GROUP)
    rest = low // group
    last3 = low - rest * group
    first3 = rest // group
    mid3 = rest - first3 * group
    scale = np.uint64(_GROUP * _GROUP)
    keys: Keys = np.take(_REV3, last3) * scale
    keys += np.take(_REV3, mid3) * group
    keys += np.take(_REV3, first3)
    return keys


class Selection:
    """The ``need`` smallest keys seen so far, and every key tied with the largest of them."""

    def __init__(self, need: int) -> None:
        self.need = need
        self.keys: Keys = np.empty(0, dtype=np.uint64)
        self.indices: Indices = np.empty(0, dtype=np.int64)

    def add(self, keys: Keys, indices: Indices) -> None:
        """Merge a block of keys with their global indices."""
        if self.need <= 0:
            return
        if self.keys.size >= self.need:
            bound = self.keys.max()
            keep = keys <= bound
            keys, indices = keys[keep], indices[keep]
        all_keys = np.concatenate((self.keys, keys))
        all_indices = np.concatenate((self.indices, indices))
        if all_keys.size > self.need:
            bound = np.partition(all_keys, self.need - 1)[self.need - 1]
            keep = all_keys <= bound
            all_keys, all_indices = all_keys[keep], all_indices[keep]
        self.keys, self.indices = all_keys, all_indices


def select_segments(seed_hex: str, segments: Sequence[Segment], need: int) -> tuple[Keys, Indices]:
    """Hash the ballots of manifest segments and keep the candidates for the ``need`` smallest.

    Args:
        seed_hex: :func:`~tallyguard.audit.sampling.tickets.seed_hash` of the seed.
        segments: runs of ballots; ballot ``p`` of a run has id text ``head + f"{p})"``.
        need: how many smallest tickets are wanted.
    """
    selection = Selection(need)
    base = hashlib.sha256(seed_hex.encode("ascii"))
    suffixes = [b"%d)" % p for p in range(1, 1 + max((s[2] for s in segments), default=0))]
    digests: list[bytes] = []
    starts: list[NDArray[np.int64]] = []
    for head, first, last, offset in segments:
        hasher = base.copy()
        hasher.update(head.encode("utf-8"))
        copy = hasher.copy
        append = digests.append
        for suffix in suffixes[first - 1 : last]:
            h = copy()
            h.update(suffix)
            append(h.digest())
        starts.append(np.arange(offset, offset + last - first + 1, dtype=np.int64))
        if len(digests) >= BLOCK:
            selection.add(keys_from_digests(b"".join(digests)), np.concatenate(starts))
            digests, starts = [], []
    if digests:
        selection.add(keys_from_digests(b"".join(digests)), np.concatenate(starts))
    return selection.keys, selection.indices


def select_texts(
    seed_hex: str, texts: Sequence[bytes], offset: int, need: int
) -> tuple[Keys, Indices]:
    """Like :func:`select_segments` for arbitrary ids given as UTF-8 ``str(id)`` texts.

    Args:
        seed_hex: the seed hash.
        texts: ``str(id).encode("utf-8")`` for consecutive ids.
        offset: global index of ``texts[0]``.
        need: how many smallest tickets are wanted.
    """
    selection = Selection(need)
    copy = hashlib.sha256(seed_hex.encode("ascii")).copy
    for start in range(0, len(texts), BLOCK):
        digests: list[bytes] = []
        append = digests.append
        for text in texts[start : start + BLOCK]:
            h = copy()
            h.update(text)
            append(h.digest())
        indices = np.arange(offset + start, offset + start + len(digests), dtype=np.int64)
        selection.add(keys_from_digests(b"".join(digests)), indices)
    return selection.keys, selection.indices


def split_segments(segments: Sequence[Segment], parts: int) -> list[list[Segment]]:
    """Cut runs of ballots into ``parts`` pieces of (nearly) equal ballot counts."""
    total = sum(last - first + 1 for _, first, last, _ in segments)
    size = -(-total // parts)
    pieces: list[list[Segment]] = [[]]
    room = size
    for head, first, last, offset in segments:
        while first <= last:
            if room == 0:
                pieces.append([])
                room = size
            take = min(room, last - first + 1)
            pieces[-1].append((head, first, first + take - 1, offset))
            first, offset, room = first + take, offset + take, room - take
    return pieces


def _context() -> multiprocessing.context.BaseContext:
    """``fork`` on Linux (cheap; the children only hash), ``forkserver``/``spawn`` elsewhere.

    Python 3.12+ deprecates forking a process that runs threads (numpy's BLAS pool
    counts), so there ``forkserver`` is used when other threads exist.
    """
    if not sys.platform.startswith("linux"):  # pragma: no cover - not Linux
        return multiprocessing.get_context("spawn")
    if sys.version_info >= (3, 12):  # pragma: no cover - CI runs 3.11
        try:
            threads = len(os.listdir("/proc/self/task"))
        except OSError:
            threads = 2
        if threads > 1:
            return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("fork")


def parallel_select(
    seed_hex: str,
    need: int,
    workers: int,
    *,
    segments: Sequence[Segment] | None = None,
    texts: Sequence[bytes] | None = None,
) -> tuple[Keys, Indices]:
    """Split the population in ``workers`` parts; this process does one, a pool the rest.

    Exactly one of ``segments`` (a manifest) and ``texts`` (arbitrary ids) is given.
    """
    jobs: list[Callable[[], tuple[Keys, Indices]]] = []
    if segments is not None:
        jobs = [
            partial(select_segments, seed_hex, part, need)
            for part in split_segments(segments, workers)
        ]
    elif texts is not None:
        size = max(1, -(-len(texts) // workers))
        jobs = [
            partial(select_texts, seed_hex, texts[i : i + size], i, need)
            for i in range(0, len(texts), size)
        ]
    selection = Selection(need)
    if len(jobs) > 1:
        try:
            with ProcessPoolExecutor(max_workers=len(jobs) - 1, mp_context=_context()) as pool:
                futures = [pool.submit(job) for job in jobs[1:]]
                selection.add(*jobs[0]())
                for future in futures:
                    selection.add(*future.result())
            return selection.keys, selection.indices
        except (OSError, BrokenProcessPool):
            # no processes here (sandbox, daemon, unimportable __main__): same result,
            # computed in this process alone
            selection = Selection(need)
    for job in jobs:
        selection.add(*job())
    return selection.keys, selection.indices
