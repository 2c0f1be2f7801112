"""Reports: HTML, PDF, CSV and JSON renderings of results."""
