"""Manager uploads: manifest and CVRs read by the command line's readers, errors located.

The election is a small simulated one (two jurisdictions, J01 and J02); each
manager uploads their own jurisdiction's rows of its manifest and CVR files.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.routing import APIRoute
from sqlalchemy import select

from tallyguard.audit.workflow import service
from tallyguard.simulate import parse_config, run_simulation
from tallyguard.store import accounts
from tallyguard.store.models import Audit, Event, InputFile
from tallyguard.web import routes_files, routes_rounds
from tests.web.conftest import World, assert_only_htmx, csrf_of

AUDIT = "Z"
PLACES = ("J01", "J02")
ELECTION = {
    "seed": "web-uploads",
    "units": 4,
    "regions": 2,
    "jurisdictions": 2,
    "mean_electorate": 150,
    "batch_size": 40,
    "cvr_formats": ["csv"],
    "discrepancies": {"overstatement_1": 0.02},
}


@dataclass(frozen=True)
class Upload:
    """The simulated election and each jurisdiction's own manifest and CVR files."""

    election: Path
    manifest: dict[str, Path]
    cvrs: dict[str, Path]


def _split(source: Path, column: str, out: Path) -> dict[str, Path]:
    """One file per jurisdiction with the rows of ``source`` whose ``column`` names it."""
    with source.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    at = rows[0].index(column)
    files = {}
    for place in PLACES:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(
            [rows[0], *(r for r in rows[1:] if r[at] == place)]
        )
        path = out / f"{place.lower()}-{source.name}"
        path.write_text(buffer.getvalue(), encoding="utf-8")
        files[place] = path
    return files


@pytest.fixture(scope="module")
def upload(tmp_path_factory: pytest.TempPathFactory) -> Upload:
    folder = tmp_path_factory.mktemp("web-election")
    run_simulation(parse_config(ELECTION, source="test"), folder / "sim")
    return Upload(
        folder / "sim",
        _split(folder / "sim" / "manifest.csv", "Jurisdiction", folder),
        _split(folder / "sim" / "cvrs.csv", "jurisdiction", folder),
    )


def with_workflow_routes(world: World) -> None:
    """Serve the upload and rounds routers (unless the app includes them already)."""
    app = world.client.app
    assert isinstance(app, FastAPI)
    served = {r.path for r in app.routes if isinstance(r, APIRoute)}
    for module in (routes_files, routes_rounds):
        if not {r.path for r in module.router.routes if isinstance(r, APIRoute)} <= served:
            app.include_router(module.router)


@pytest.fixture
def zworld(world: World) -> World:
    """The world plus comparison audit Z of the simulated election, with a manager per county."""
    with_workflow_routes(world)
    with world.store.transaction() as session:
        audit = service.create_audit(session, name=AUDIT, election="Sim", kind="comparison",
                                     risk_limit=0.1, method=None, actor="setup")  # fmt: skip
        for place in PLACES:
            service.add_jurisdiction(session, audit, place, "setup")
            email = f"{place.lower()}@example.org"
            user, password = accounts.create_manager(
                session, audit, place, email, "setup", world.clock()
            )
            user.must_change_password = False  # as if chosen at the first sign-in
            world.managers[place] = email
            world.passwords[email] = password
    return world


def files_url(place: str) -> str:
    return f"/audits/{AUDIT}/jurisdictions/{place}/files"


def post_file(
    world: World, who: str, place: str, what: str, path: Path, body: bytes | None = None
) -> httpx.Response:
    """Upload ``path`` (or ``body`` under its name) as ``who`` to ``place``'s ``what`` form."""
    client = world.session_for(who)
    home = "/admin" if who == "admin" else f"/audits/{AUDIT}/jurisdictions/{who.split(':')[1]}"
    token = csrf_of(client, home)
    content = path.read_bytes() if body is None else body
    response: httpx.Response = client.post(
        f"{files_url(place)}/{what}",
        data={"csrf_token": token},
        files={"file": (path.name, content, "text/csv")},
    )
    return response


def stored_files(world: World) -> list[tuple[str, str, str, int]]:
    with world.store.transaction() as session:
        audit = session.scalars(select(Audit).where(Audit.name == AUDIT)).one()
        return [
            (f.role, f.filename, f.sha256, f.records)
            for f in session.scalars(
                select(InputFile).where(InputFile.audit_id == audit.id).order_by(InputFile.id)
            )
        ]


def events_of(world: World, kind: str) -> list[str]:
    with world.store.transaction() as session:
        audit = session.scalars(select(Audit).where(Audit.name == AUDIT)).one()
        return list(
            session.scalars(
                select(Event.actor).where(Event.audit_id == audit.id, Event.type == kind)
            )
        )


def upload_all(world: World, upload: Upload) -> None:
    """Every manager loads their manifest, then their CVRs."""
    for place in PLACES:
        for what, files in (("manifest", upload.manifest), ("cvrs", upload.cvrs)):
            response = post_file(world, f"manager:{place}", place, what, files[place])
            assert response.status_code == 303, response.text
            assert response.headers["location"] == f"{files_url(place)}?done={what}"


def test_a_manager_uploads_the_manifest_and_cvrs_of_their_jurisdiction(
    zworld: World, upload: Upload
) -> None:
    manifest, cvrs = upload.manifest["J01"], upload.cvrs["J01"]
    with manifest.open(encoding="utf-8") as stream:
        batches = list(csv.DictReader(stream))
    cards = sum(int(b["Number of Ballots"]) for b in batches)
    assert post_file(zworld, "manager:J01", "J01", "manifest", manifest).status_code == 303
    assert post_file(zworld, "manager:J01", "J01", "cvrs", cvrs).status_code == 303
    digest = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (manifest, cvrs)}
    assert stored_files(zworld) == [
        ("manifest", manifest.name, digest[manifest], len(batches)),
        ("cvrs", cvrs.name, digest[cvrs], cards),  # one CVR per card
    ]
    page = zworld.session_for("manager:J01").get(f"{files_url('J01')}?done=cvrs")
    assert page.status_code == 200
    assert "The cvrs file is loaded." in page.text
    assert f"<dt>Batches</dt><dd>{len(batches)}</dd>" in page.text
    assert f"<dt>Ballot cards</dt><dd>{cards}</dd>" in page.text
    for path in (manifest, cvrs):
        assert path.name in page.text
        assert digest[path] in page.text
    assert events_of(zworld, "manifest.loaded") == ["manager:j01@example.org"]
    assert events_of(zworld, "cvrs.loaded") == ["manager:j01@example.org"]
    assert 'enctype="multipart/form-data"' in page.text
    assert '<label for="manifest-file">' in page.text
    assert 'id="manifest-file"' in page.text
    assert " style=" not in page.text
    assert_only_htmx(page.text)


def test_a_malformed_csv_names_its_line_and_field_and_changes_nothing(
    zworld: World, upload: Upload, tmp_path: Path
) -> None:
    bad = tmp_path / "bad-manifest.csv"
    lines = upload.manifest["J01"].read_text(encoding="utf-8").splitlines()
    cells = lines[2].split(",")
    cells[-1] = "twelve"
    lines[2] = ",".join(cells)
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    response = post_file(zworld, "manager:J01", "J01", "manifest", bad)
    assert response.status_code == 400
    assert "bad-manifest.csv, line 3, field &#39;Number of Ballots&#39;" in response.text
    assert "tallyguard-upload-" not in response.text  # no temporary path leaks
    assert stored_files(zworld) == []
    assert events_of(zworld, "manifest.loaded") == []
    # CVRs before the manifest: refused, with the batch named, and nothing stored.
    refused = post_file(zworld, "manager:J01", "J01", "cvrs", upload.cvrs["J01"])
    assert refused.status_code == 400
    assert 'class="error"' in refused.text
    assert stored_files(zworld) == []


def test_an_oversized_upload_is_refused_before_it_is_read(
    zworld: World, upload: Upload, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = upload.manifest["J01"].stat().st_size
    monkeypatch.setattr(routes_files, "MAX_UPLOAD_BYTES", size // 2)
    response = post_file(zworld, "manager:J01", "J01", "manifest", upload.manifest["J01"])
    assert response.status_code == 413
    assert "The file is too large" in response.text
    assert stored_files(zworld) == []
    # A body larger than the limit but sent without a Content-Length is stopped while copied.
    with pytest.raises(HTTPException) as caught:
        routes_files.save_upload(
            _FakeUpload("big.csv", b"x" * (size // 2 + 1)),  # type: ignore[arg-type]
            upload.election,
            "x.csv",
        )
    assert caught.value.status_code == 413


class _FakeUpload:
    def __init__(self, name: str, data: bytes) -> None:
        self.filename = name
        self.file = io.BytesIO(data)


def test_another_jurisdictions_manager_is_refused(zworld: World, upload: Upload) -> None:
    other = zworld.session_for("manager:J02")
    assert other.get(files_url("J01")).status_code == 403
    response = post_file(zworld, "manager:J02", "J01", "manifest", upload.manifest["J01"])
    assert response.status_code == 403
    assert "Your account may not open this page." in response.text
    # A manager of another audit, too.
    assert zworld.session_for("manager:A").get(files_url("J01")).status_code == 403
    assert stored_files(zworld) == []
    # The admin may upload for any jurisdiction; the event names the admin.
    assert post_file(zworld, "admin", "J02", "manifest", upload.manifest["J02"]).status_code == 303
    assert events_of(zworld, "manifest.loaded") == ["admin:alice@example.org"]


def test_the_filename_is_made_safe() -> None:
    assert routes_files.safe_filename("../../etc/passwd", "d.csv") == "passwd"
    assert routes_files.safe_filename("C:\\exports\\Manifest (v2).csv", "d.csv") == (
        "Manifest_v2_.csv"
    )
    assert routes_files.safe_filename("", "d.csv") == "d.csv"
    assert routes_files.safe_filename("...", "d.csv") == "d.csv"
