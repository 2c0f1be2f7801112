"""Re-runners: functions that re-create a bundle's outputs from its parameters.

A bundle whose ``rerun`` field names a re-runner can be re-computed by anyone.
Re-runners are found first in a mapping the caller passes, then among the
installed entry points of the group ``tallyguard.rerun``, for example::

    [project.entry-points."tallyguard.rerun"]
    "simulate.election" = "tallyguard.simulate.rerun:rerun_election"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeAlias

#: Entry point group in which installed packages register re-runners.
ENTRY_POINT_GROUP = "tallyguard.rerun"

#: ``rerunner(parameters, out_dir)`` writes the outputs the parameters describe
#: into ``out_dir``, at the same relative paths the bundle lists.
Rerunner: TypeAlias = Callable[[Mapping[str, Any], Path], None]


class RerunnerLoadError(Exception):
    """An installed re-runner entry point could not be loaded."""


def installed_rerunners() -> list[str]:
    """Return the names of every re-runner registered through entry points, sorted."""
    return sorted({point.name for point in entry_points(group=ENTRY_POINT_GROUP)})


def find_rerunner(name: str, rerunners: Mapping[str, Rerunner] | None = None) -> Rerunner | None:
    """Look a re-runner up by name.

    Args:
        name: The bundle's ``rerun`` field, e.g. ``"simulate.election"``.
        rerunners: Re-runners that take precedence over installed entry points.

    Returns:
        The re-runner, or ``None`` when no re-runner has that name.

    Raises:
        RerunnerLoadError: The entry point exists but cannot be imported, or
            does not load to a callable.
    """
    if rerunners is not None and name in rerunners:
        return rerunners[name]
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name != name:
            continue
        try:
            loaded = point.load()
        except Exception as error:  # any import failure means "cannot load"
            raise RerunnerLoadError(
                f"entry point {point.value!r} cannot be loaded: {type(error).__name__}: {error}"
            ) from error
        if not callable(loaded):
            raise RerunnerLoadError(f"entry point {point.value!r} is not callable")
        rerunner: Rerunner = loaded
        return rerunner
    return None
