"""The PDF audit report and the report files written atomically."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import tallyguard.report.audit_csv as audit_csv
from tallyguard.audit.workflow.result import AuditResult
from tallyguard.errors import TallyguardError
from tallyguard.io import atomic
from tallyguard.report import audit_report_csv, audit_report_html, write_report_files
from tallyguard.report.audit_csv import CSV_FILE, HTML_FILE, PDF_FILE
from tallyguard.report.pdf import audit_report_pdf

from .results import comparison_result


def page_count(pdf: bytes) -> int:
    """Count page objects, looking inside compressed object streams too."""
    chunks = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            chunks.append(zlib.decompress(stream))
        except zlib.error:
            continue  # not a Flate stream (an image, say)
    return sum(len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", chunk)) for chunk in chunks)


@pytest.fixture(scope="module")
def comparison_pdf() -> bytes:
    return audit_report_pdf(audit_report_html(comparison_result()))


def test_pdf_has_pages(comparison_pdf: bytes) -> None:
    assert comparison_pdf.startswith(b"%PDF-")
    assert comparison_pdf.rstrip().endswith(b"%%EOF")
    assert page_count(comparison_pdf) >= 1


def test_pdf_prints_without_warnings(
    polling: AuditResult, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = audit_report_pdf(audit_report_html(polling))
    assert page_count(pdf) >= 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert logging.getLogger("weasyprint").filters == []  # the noise filter is removed


def test_pdf_fetches_nothing(caplog: pytest.LogCaptureFixture) -> None:
    html = '<html><body><p>x</p><img src="http://example.invalid/x.png" alt="x"></body></html>'
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = audit_report_pdf(html)
    assert pdf.startswith(b"%PDF-")
    refused = [r.getMessage() for r in caplog.records if "example.invalid" in r.getMessage()]
    assert refused
    assert all(re.search("disallowed protocol|refusing to fetch", m) for m in refused)


def test_missing_weasyprint_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # makes `import weasyprint` fail
    with pytest.raises(TallyguardError, match="cannot write the PDF report") as caught:
        audit_report_pdf("<p>x</p>")
    assert "Fix: install WeasyPrint" in str(caught.value)
    assert "apt-get install libpango" in str(caught.value)


def test_importing_the_report_package_does_not_need_weasyprint() -> None:
    # With weasyprint blocked, importing it at module level would raise ImportError.
    code = "import sys; sys.modules['weasyprint'] = None; import tallyguard.report"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_write_report_files(
    tmp_path: Path, comparison: AuditResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_csv, "audit_report_pdf", lambda html: b"%PDF-1.7 stand-in")
    out = tmp_path / "reports" / "round-2"
    written = write_report_files(comparison, out)
    assert written == [out / CSV_FILE, out / HTML_FILE, out / PDF_FILE]
    assert (out / CSV_FILE).read_bytes() == audit_report_csv(comparison).encode("utf-8")
    assert (out / HTML_FILE).read_text(encoding="utf-8") == audit_report_html(comparison)
    assert (out / PDF_FILE).read_bytes() == b"%PDF-1.7 stand-in"
    assert sorted(p.name for p in out.iterdir()) == sorted([CSV_FILE, HTML_FILE, PDF_FILE])
    umask = os.umask(0)
    os.umask(umask)
    assert (out / CSV_FILE).stat().st_mode & 0o777 == 0o666 & ~umask


def test_write_report_files_without_pdf(tmp_path: Path, batch: AuditResult) -> None:
    written = write_report_files(batch, tmp_path, pdf=False)
    assert written == [tmp_path / CSV_FILE, tmp_path / HTML_FILE]
    assert sorted(p.name for p in tmp_path.iterdir()) == [CSV_FILE, HTML_FILE]


def test_replaces_existing_reports(tmp_path: Path, polling: AuditResult) -> None:
    (tmp_path / CSV_FILE).write_text("old", encoding="utf-8")
    write_report_files(polling, tmp_path, pdf=False)
    assert (tmp_path / CSV_FILE).read_text(encoding="utf-8").startswith("######## ELECTION INFO")


def test_a_failing_pdf_writes_nothing(
    tmp_path: Path, polling: AuditResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / CSV_FILE).write_text("old", encoding="utf-8")

    def broken(html: str) -> bytes:
        raise TallyguardError("cannot write the PDF report: no WeasyPrint")

    monkeypatch.setattr(audit_csv, "audit_report_pdf", broken)
    with pytest.raises(TallyguardError):
        write_report_files(polling, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CSV_FILE]
    assert (tmp_path / CSV_FILE).read_text(encoding="utf-8") == "old"


def test_an_interrupted_write_leaves_no_partial_file(
    tmp_path: Path, polling: AuditResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(source: object, target: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_report_files(polling, tmp_path, pdf=False)
    assert list(tmp_path.iterdir()) == []
