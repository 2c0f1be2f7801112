from __future__ import annotations

import pytest

from tallyguard.errors import InputError
from tallyguard.model import ContestKind
from tallyguard.simulate import SimulationConfig, parse_config


def test_defaults_cover_every_contest_kind() -> None:
    config = SimulationConfig(seed="x")
    kinds = {c.kind for c in config.domain_contests()}
    assert kinds == {ContestKind.PLURALITY, ContestKind.SUPERMAJORITY, ContestKind.APPROVAL}
    assert config.leader_name == "Alice Avery"
    assert [c.contest_id for c in config.domain_contests()] == ["c1", "c2", "c3", "c4"]


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"units": 0}, "units", "greater than or equal to 1"),
        ({"jurisdictions": 2, "regions": 3}, None, "at least as many jurisdictions"),
        ({"discrepancies": {"overstatement_2": 1.5}}, "discrepancies.overstatement_2", "less than"),
        ({"leader": "Nobody"}, None, "not a choice"),
        ({"manipulation": {"regions": ["R99"]}}, None, "unknown region"),
        (
            {"contests": [{"name": "A:B", "choices": {"x": 1, "y": 1}}]},
            "contests[0].name",
            "pattern",
        ),
        ({"contests": [{"name": "A", "choices": {"x": 1}}]}, "contests[0].choices", "at least 2"),
        ({"contests": [{"name": "A", "choices": {"x|y": 1, "z": 1}}]}, None, "pattern"),
        ({"contests": [{"name": "A", "choices": {"x": 0, "z": 1}}]}, None, "greater than 0"),
        ({"colour": "blue"}, "colour", "unknown field"),
    ],
)
def test_bad_parameters_are_input_errors_naming_the_field(
    raw: dict[str, object], field: str | None, words: str
) -> None:
    with pytest.raises(InputError) as caught:
        parse_config({"seed": "1", **raw}, source="cfg.json")
    error = caught.value
    assert error.file == "cfg.json"
    if field is not None:
        assert error.field == field
    assert words in str(error)
    assert "Fix:" in str(error)


def test_main_contest_must_allow_one_vote_everywhere() -> None:
    with pytest.raises(InputError, match="main"):
        parse_config(
            {"seed": "1", "contests": [{"name": "A", "choices": {"x": 1, "y": 1}, "coverage": 0.5}]}
        )


def test_choice_order_survives_a_json_round_trip_with_sorted_keys() -> None:
    import json

    config = parse_config({"seed": "1", "contests": [{"name": "A", "choices": {"z": 2, "a": 1}}]})
    dumped = json.loads(json.dumps(config.model_dump(mode="json"), sort_keys=True))
    again = parse_config(dumped)
    assert again == config
    assert again.domain_contests()[0].choices == ("z", "a")
