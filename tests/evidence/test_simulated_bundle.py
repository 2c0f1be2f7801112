"""A real bundle: a simulated election, re-run through the installed entry point."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tallyguard.evidence import find_rerunner, load_bundle, verify_bundle
from tests.evidence.bundles import read_document, rewrite_document


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> Path:
    simulate = pytest.importorskip("tallyguard.simulate")
    out = tmp_path_factory.mktemp("simulated") / "election"
    config = simulate.parse_config({"seed": "evidence-bundle-test", "units": 12})
    simulate.run_simulation(config, out)
    return out


def test_simulate_election_rerunner_is_installed() -> None:
    pytest.importorskip("tallyguard.simulate")
    assert find_rerunner("simulate.election") is not None


def test_simulated_election_verifies_by_rerun(election: Path) -> None:
    bundle = load_bundle(election)
    assert bundle.rerun == "simulate.election"
    report = verify_bundle(election)
    assert report.ok, [d.render() for d in report.discrepancies]
    assert report.rerun_done


def test_changed_seed_is_caught_by_rerun(election: Path, tmp_path: Path) -> None:
    """Recording other parameters (with a consistent bundle_sha256) fails the re-run."""
    copy = Path(shutil.copytree(election, tmp_path / "election"))
    document = read_document(copy)
    document["parameters"]["seed"] = "another-seed"
    rewrite_document(copy, document)
    assert verify_bundle(copy, rerun=False).ok
    report = verify_bundle(copy)
    assert not report.ok
    assert all(d.problem.startswith("re-run gives different content") for d in report.discrepancies)
