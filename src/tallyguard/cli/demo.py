"""``tallyguard demo``."""

from __future__ import annotations


def demo() -> None:
    """Run the main job end to end on embedded defaults."""
    raise NotImplementedError
