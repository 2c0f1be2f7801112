"""Run the whole generative model: units -> cards -> count -> protocols."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tallyguard.model import Contest
from tallyguard.simulate.ballots import Cards, draw_cards
from tallyguard.simulate.config import SimulationConfig
from tallyguard.simulate.protocol import Protocols, count, round_protocols
from tallyguard.simulate.tamper import Tampered, tamper
from tallyguard.simulate.units import Stuffing, Units, draw_stuffing, draw_units, random_streams

Step = Callable[[str], None]

#: The labelled stages of :func:`simulate`, for progress bars.
STAGES = ("units", "ballot cards", "count and discrepancies", "protocols")


@dataclass(frozen=True)
class SimulatedElection:
    """A complete synthetic election with its ground truth, held in memory."""

    config: SimulationConfig
    contests: list[Contest]
    units: Units
    stuffing: Stuffing
    cards: Cards
    count: Tampered
    honest: Protocols  # protocols as the count gives them
    protocols: Protocols  # protocols as reported (after any falsification)

    def manipulated_units(self) -> np.ndarray:
        """Units where a manipulation changed the ballots, the count or the protocol."""
        switched = np.bincount(self.cards.unit[self.cards.switched], minlength=self.units.n).astype(
            np.int64
        )
        rewritten = (
            (self.protocols.votes != self.honest.votes).any(axis=1)
            | (self.protocols.cast != self.honest.cast)
            | (self.protocols.issued != self.honest.issued)
        )
        changed: np.ndarray = (
            (self.stuffing.stuffed > 0) | (switched > 0) | (self.count.transferred > 0) | rewritten
        )
        return changed


def simulate(config: SimulationConfig, on_step: Step | None = None) -> SimulatedElection:
    """Draw a synthetic election; the same config always gives the same election."""
    step = on_step or (lambda _label: None)
    streams = random_streams(config.seed)
    contests = config.domain_contests()
    step(STAGES[0])
    units = draw_units(config, streams)
    stuffing = draw_stuffing(config, units, streams["stuffing"])
    step(STAGES[1])
    cards = draw_cards(config, contests, units, stuffing, streams)
    step(STAGES[2])
    counted = tamper(config, contests, units, cards, streams)
    step(STAGES[3])
    honest = count(units, cards, stuffing.stuffed, counted.cvr[0], contests[0])
    leader = contests[0].choices.index(config.leader_name)
    reported = round_protocols(config, units, honest, leader, streams["rounding"])
    return SimulatedElection(
        config=config,
        contests=contests,
        units=units,
        stuffing=stuffing,
        cards=cards,
        count=counted,
        honest=honest,
        protocols=reported,
    )
