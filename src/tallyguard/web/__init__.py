"""Web interface (FastAPI + Jinja2 + htmx) over the audit workflow."""
