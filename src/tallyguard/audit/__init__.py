"""Risk-limiting audits (SHANGRLA framework): sampling, assorters, risk measurement, plans."""
