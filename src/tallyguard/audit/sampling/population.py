"""What the consistent sampler draws from: a ballot manifest, or any list of distinct ids.

Rivest, R.L. (2018). "Consistent Sampling with Replacement." arXiv:1808.10016: an
object's tickets depend only on the seed and ``str(id)``, so the *text* of an id
is what must be reproducible. Ballot ids are Arlo's
``((jurisdiction, batch_name), position)`` tuples of plain ``str`` and ``int``
(pitfall P1 in ``docs/audit-methods.md``: inside a tuple a ``numpy.str_`` prints as
``np.str_('...')`` under numpy 2 and changes every ticket).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Hashable, Sequence
from typing import Any, Final

import numpy as np

from tallyguard.audit.sampling import _kernel
from tallyguard.audit.sampling._kernel import Indices, Keys, Segment
from tallyguard.errors import InputError
from tallyguard.model.manifest import ManifestBatch

#: Populations at least this large are hashed on several processes by default.
PARALLEL_THRESHOLD: Final = 200_000

BallotId = tuple[tuple[str, str], int]


def plain_text(value: object, what: str) -> str:
    """``value`` as a plain ``str`` (a ``numpy.str_`` is converted); anything else is an error."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    raise InputError(
        f"the {what} must be text, not {type(value).__name__} ({value!r}).",
        field=what,
        fix=f"give the {what} as a string.",
    )


def plain_position(value: object) -> int:
    """A ballot position: a whole number >= 1 (numpy integers are converted)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < 1:
        raise InputError(
            f"a ballot position must be a whole number >= 1, not {value!r}.",
            field="position",
            fix="number the ballots of each batch 1, 2, 3, ... in storage order.",
        )
    return int(value)


def default_workers(size: int) -> int:
    """Processes to use for a population of ``size``: 1 below the threshold, else up to 2.

    A daemonic process (e.g. a ``multiprocessing.Pool`` worker) may not start
    processes, so it always works alone.
    """
    if size < PARALLEL_THRESHOLD or multiprocessing.current_process().daemon:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


class ManifestPopulation:
    """Every ballot of a manifest, in manifest order, batch by batch, positions 1..n.

    A ballot's id is ``((jurisdiction, batch_name), p)``; with ``tabulators``,
    current Arlo's ``((jurisdiction, tabulator or None, batch_name), p)``
    (:func:`~tallyguard.audit.sampling.arlo_ballot_id`).
    """

    #: Large manifests are hashed on several processes unless told otherwise.
    parallel_by_default = True

    def __init__(self, batches: Sequence[ManifestBatch], *, tabulators: bool = False) -> None:
        self.names: list[tuple[Any, ...]] = []
        self.segments: list[Segment] = []
        seen: dict[tuple[Any, ...], int] = {}
        starts = [0]
        for row, batch in enumerate(batches, start=1):
            if not isinstance(batch, ManifestBatch):
                raise InputError(
                    f"manifest row {row} is a {type(batch).__name__}, not a ManifestBatch.",
                    fix="read the manifest with tallyguard.io.manifest.read_manifest.",
                )
            name: tuple[Any, ...] = (
                plain_text(batch.jurisdiction, "jurisdiction"),
                plain_text(batch.batch_name, "batch name"),
            )
            if tabulators:
                tabulator = batch.tabulator or None
                name = (name[0], tabulator and plain_text(tabulator, "tabulator"), name[1])
            if name in seen:
                raise InputError(
                    f"batch {name[-1]!r} of {name[0]!r} appears twice in the manifest "
                    f"(rows {seen[name]} and {row}); ballot ids ((jurisdiction, batch), "
                    "position) would repeat.",
                    field="Batch Name",
                    fix="give each batch of a jurisdiction a unique name (e.g. prefix it with "
                    "its tabulator), or merge the two rows.",
                )
            seen[name] = row
            count = batch.num_ballots
            if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
                raise InputError(
                    f"batch {name[-1]!r} of {name[0]!r} has {count!r} ballots.",
                    field="Number of Ballots",
                    fix="give the number of ballots as a whole number >= 0.",
                )
            count = int(count)
            if count:
                head = "(" + str(name) + ", "
                self.segments.append((head, 1, count, starts[-1]))
                self.names.append(name)
                starts.append(starts[-1] + count)
        self.starts = np.array(starts, dtype=np.int64)
        self.size = int(starts[-1])

    def locate(self, indices: Sequence[int]) -> list[tuple[int, int]]:
        """(segment number, position) of each global index."""
        where = np.searchsorted(self.starts, np.asarray(indices, dtype=np.int64), side="right") - 1
        return [
            (int(w), int(i) - int(self.starts[w]) + 1) for w, i in zip(where, indices, strict=True)
        ]

    def texts(self, indices: Sequence[int]) -> list[str]:
        """``str(id)`` of the ballots at these global indices."""
        return [f"{self.segments[w][0]}{p})" for w, p in self.locate(indices)]

    def ids(self, indices: Sequence[int]) -> list[Hashable]:
        """The ids ``((jurisdiction, batch_name), position)`` at these global indices."""
        return [(self.names[w], p) for w, p in self.locate(indices)]

    def select(self, seed_hex: str, need: int, workers: int) -> tuple[Keys, Indices]:
        """Candidates for the ``need`` smallest first tickets (see ``_kernel``)."""
        if workers > 1:
            return _kernel.parallel_select(seed_hex, need, workers, segments=self.segments)
        return _kernel.select_segments(seed_hex, self.segments, need)


class IdPopulation:
    """A sequence of distinct hashable ids, hashed through ``str(id)`` as the reference does.

    Writing ``str(id)`` for every id costs about as much as hashing it, and the
    texts would have to be shipped to the other processes, so arbitrary ids are
    hashed in one process unless ``workers`` asks for more.
    """

    parallel_by_default = False

    def __init__(self, ids: Sequence[Hashable]) -> None:
        self.items = list(ids)
        self.size = len(self.items)
        try:
            distinct = len(set(self.items))
        except TypeError as error:
            raise InputError(
                f"every id must be hashable: {error}.",
                fix="use strings, numbers or tuples of them as ids.",
            ) from None
        if distinct != self.size:
            raise InputError(
                f"the ids contain duplicates: {_duplicates(self.items)!r}.",
                fix="give every ballot a distinct id.",
            )
        self.text_list = [_id_text(item) for item in self.items]

    def texts(self, indices: Sequence[int]) -> list[str]:
        """``str(id)`` of the ids at these indices."""
        return [self.text_list[i] for i in indices]

    def ids(self, indices: Sequence[int]) -> list[Hashable]:
        """The ids at these indices."""
        return [self.items[i] for i in indices]

    def select(self, seed_hex: str, need: int, workers: int) -> tuple[Keys, Indices]:
        """Candidates for the ``need`` smallest first tickets (see ``_kernel``)."""
        encoded = [text.encode("utf-8") for text in self.text_list]
        if workers > 1:
            return _kernel.parallel_select(seed_hex, need, workers, texts=encoded)
        return _kernel.select_texts(seed_hex, encoded, 0, need)


def _id_text(item: object) -> str:
    """``str(item)``, refusing ids whose text is not reproducible (pitfall P1).

    Under numpy 2 a numpy value inside a tuple prints as ``np.str_('...')``,
    ``np.int64(3)``...; only texts with such a mark are examined further.
    """
    text = str(item)
    if "np." in text or "frozenset(" in text:
        _check_reproducible(item, item)
    return text


def _check_reproducible(part: object, item: object) -> None:
    if isinstance(part, tuple):
        for element in part:
            if type(element) is not str and type(element) is not int:
                _check_reproducible(element, item)
    elif isinstance(part, frozenset):
        raise InputError(
            f"id {item!r} contains a frozenset, whose text order changes from run to run.",
            fix="use a tuple in a fixed order instead.",
        )
    elif isinstance(part, np.generic) and part is not item:
        raise InputError(
            f"id {item!r} contains a numpy value ({type(part).__name__}); inside a tuple it "
            "prints differently under numpy 1 and 2, which changes the tickets.",
            fix="convert ids to plain Python str/int first, e.g. with ballot_id(...) or "
            ".item()/str().",
        )


def _duplicates(items: Sequence[Hashable]) -> list[Hashable]:
    seen: set[Hashable] = set()
    repeated: list[Hashable] = []
    for item in items:
        if item in seen and item not in repeated:
            repeated.append(item)
            if len(repeated) == 5:
                break
        seen.add(item)
    return repeated
