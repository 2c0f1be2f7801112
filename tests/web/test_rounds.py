"""The admin runs audit Z from the web: contests, seed, plan, round 1, downloads.

Readings are recorded through the service (the audit-board screens are tested
elsewhere); the downloaded bundle must verify without the database.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from tallyguard.audit.workflow import service
from tallyguard.evidence import verify_bundle
from tallyguard.simulate.boards import fill_readings, paper_ballots
from tallyguard.store.models import Audit, Event
from tallyguard.web import routes_rounds
from tests.web.conftest import World, csrf_of
from tests.web.test_files import AUDIT, Upload, events_of, upload, upload_all, zworld

__all__ = ["upload", "zworld"]  # the fixtures this module borrows

SEED = "31415926535897932384"
BASE = f"/admin/audits/{AUDIT}"
ADMIN_ACTOR = "admin:alice@example.org"


def _post(world: World, path: str, **data: str) -> tuple[int, str, str]:
    client = world.session_for("admin")
    response = client.post(path, data={**data, "csrf_token": csrf_of(client, "/admin")})
    return response.status_code, response.headers.get("location", ""), response.text


def _add_governor(world: World, upload: Upload) -> None:
    client = world.session_for("admin")
    response = client.post(
        f"{BASE}/contests",
        data={"csrf_token": csrf_of(client, "/admin"), "names": "Governor\n"},
        files={"file": ("contests.json", (upload.election / "contests.json").read_bytes())},
    )
    assert response.status_code == 303, response.text


def _record_round(world: World, upload: Upload, tmp_path: Path) -> int:
    """Fill the open round's readings from the paper ballots and record them."""
    with world.store.transaction() as session:
        row = service.find_audit(session, AUDIT)
        result = service.status(session, row)
    number = result.rounds[-1].round
    template = tmp_path / "template.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Jurisdiction", "Tabulator", "Batch Name", "Ballot Position", "Contest",
                     "Interpretation", "Comment"])  # fmt: skip
    drawn = [d for d in result.sample if d.round == number]
    for d in drawn:
        writer.writerow([d.jurisdiction, d.tabulator, d.batch_name, d.position, "Governor", "", ""])
    template.write_text(buffer.getvalue(), encoding="utf-8")
    filled = tmp_path / "filled.csv"
    filled.write_text(
        fill_readings(template, upload.election, paper=paper_ballots(upload.election)),
        encoding="utf-8",
    )
    with world.store.transaction() as session:
        row = service.find_audit(session, AUDIT)
        recorded = service.record_readings(session, row, filled, "board:Board 1")
    return int(recorded["readings"])


def test_the_admin_runs_round_one_and_downloads_a_bundle_that_verifies(
    zworld: World, upload: Upload, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes_rounds, "PLAN_REPS", 200)
    upload_all(zworld, upload)
    _add_governor(zworld, upload)
    assert events_of(zworld, "contest.added") == [ADMIN_ACTOR]
    observer = zworld.new_client()
    assert observer.get(f"/public/{AUDIT}/sample.csv").status_code == 404  # no round yet
    admin = zworld.session_for("admin")
    ceremony = admin.get(f"{BASE}/seed")
    assert ceremony.status_code == 200
    assert "ten-sided dice" in ceremony.text
    assert "at least 20 times" in ceremony.text
    status, _, text = _post(zworld, f"{BASE}/seed", seed="12345")
    assert status == 400
    assert 'class="error"' in text
    status, location, _ = _post(zworld, f"{BASE}/seed", seed=SEED[:10] + " " + SEED[10:])
    assert (status, location) == (303, f"{BASE}/seed")
    frozen = admin.get(f"{BASE}/seed").text
    assert f"<code>{SEED}</code>" in frozen
    assert "manifest.csv" in frozen
    plan = admin.get(f"{BASE}/plan")
    assert plan.status_code == 200
    sizes = [int(s) for s in re.findall(r"%</td><td>(\d+)</td>", plan.text)]
    assert len(sizes) == 3  # P = 50 %, 70 %, 90 %
    assert sizes == sorted(sizes)
    assert '<th scope="col">Governor</th>' in plan.text
    size = 40
    status, location, _ = _post(zworld, f"{BASE}/rounds", size=str(size))
    assert (status, location) == (303, f"{BASE}/rounds")
    page = admin.get(f"{BASE}/rounds").text
    assert "Round 1</h2>" in page
    assert "Finish round 1" in page
    early, _, text = _post(zworld, f"{BASE}/rounds/finish")
    assert early == 400
    assert "still need readings" in text
    assert _record_round(zworld, upload, tmp_path) == size
    status, location, _ = _post(zworld, f"{BASE}/rounds/finish")
    assert (status, location) == (303, f"{BASE}/rounds")
    with zworld.store.transaction() as session:
        result = service.status(session, service.find_audit(session, AUDIT))
    governor = result.contests[0]
    assert (governor.contest, governor.audited) == ("Governor", size)
    page = admin.get(f"{BASE}/rounds").text
    assert f"{governor.risk:.4f}" in page  # the risk per contest, as status() computes it
    for kind in ("seed.set", "round.started", "round.finished"):
        assert events_of(zworld, kind) == [ADMIN_ACTOR]
    assert governor.confirmed  # seeded: risk 0.0244 <= 0.1 after 40 draws
    # confirmed: the page offers to finish, not another round
    assert "Finish the audit (every targeted contest confirmed)" in page
    assert "Start the round" not in page
    assert _post(zworld, f"{BASE}/finish")[0] == 303
    assert events_of(zworld, "audit.finished") == [ADMIN_ACTOR]
    report = admin.get(f"{BASE}/report.csv")
    assert report.status_code == 200
    assert SEED in report.text
    bundle = admin.get(f"{BASE}/bundle.zip")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"] == "application/zip"
    folder = tmp_path / "bundle"
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        archive.extractall(folder)
    assert (folder / "bundle.json").is_file()
    assert (folder / "inputs" / "events.jsonl").is_file()
    verified = verify_bundle(folder)
    assert verified.ok, verified
    # The observer's sample and bundle: the same sample, and a bundle that verifies too.
    sample = observer.get(f"/public/{AUDIT}/sample.csv")
    assert sample.status_code == 200
    rows = list(csv.reader(io.StringIO(sample.text)))
    assert [row[2] for row in rows[1:]] == [d.ticket for d in result.sample]
    assert {row[-1] for row in rows[1:]} == {"1"}  # every card audited
    assert sample.text == (folder / "sample.csv").read_text(encoding="utf-8")
    public = observer.get(f"/public/{AUDIT}/bundle.zip")
    assert public.status_code == 200
    shared = tmp_path / "public-bundle"
    with zipfile.ZipFile(io.BytesIO(public.content)) as archive:
        archive.extractall(shared)
    assert verify_bundle(shared).ok
    assert (shared / "inputs" / "events.jsonl").read_bytes() == (
        folder / "inputs" / "events.jsonl"
    ).read_bytes()
    page = observer.get(f"/public/{AUDIT}").text
    assert f'href="/public/{AUDIT}/sample.csv"' in page
    assert f'href="/public/{AUDIT}/bundle.zip"' in page
    # A changed reading breaks it.
    readings = folder / "inputs" / "readings.csv"
    readings.write_text(
        readings.read_text(encoding="utf-8").replace(",Governor,", ",Governor, ", 1)
    )
    assert not verify_bundle(folder).ok


def test_hand_count_then_finish(zworld: World, upload: Upload, tmp_path: Path) -> None:
    upload_all(zworld, upload)
    _add_governor(zworld, upload)
    assert _post(zworld, f"{BASE}/seed", seed=SEED)[0] == 303
    assert _post(zworld, f"{BASE}/rounds", size="5")[0] == 303
    assert _post(zworld, f"{BASE}/hand-count")[0] == 303
    status, _, text = _post(zworld, f"{BASE}/finish")
    assert status == 400
    assert "hand count" in text
    totals = tmp_path / "totals.csv"
    contests = {"Alice Avery": 1, "Bob Brooks": 2, "Carmen Cruz": 3, "Dev Desai": 4}
    totals.write_text(
        "Contest,Choice,Votes\n" + "".join(f"Governor,{k},{v}\n" for k, v in contests.items()),
        encoding="utf-8",
    )
    client = zworld.session_for("admin")
    response = client.post(
        f"{BASE}/hand-count/totals",
        data={"csrf_token": csrf_of(client, "/admin")},
        files={"file": ("totals.csv", totals.read_bytes(), "text/csv")},
    )
    assert response.status_code == 303, response.text
    assert _post(zworld, f"{BASE}/finish")[0] == 303
    with zworld.store.transaction() as session:
        audit = session.scalars(select(Audit).where(Audit.name == AUDIT)).one()
        assert audit.status == "finished"
        actors = session.scalars(
            select(Event.actor).where(Event.audit_id == audit.id, Event.type.like("hand_count%"))
        ).all()
    assert actors == [ADMIN_ACTOR, ADMIN_ACTOR]


def test_managers_cannot_run_rounds(zworld: World) -> None:
    manager = zworld.session_for("manager:J01")
    for path in ("/rounds", "/seed", "/plan", "/bundle.zip", "/report.csv"):
        assert manager.get(BASE + path).status_code == 403
