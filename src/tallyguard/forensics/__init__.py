"""Statistical election forensics on unit-level results, calibrated by simulation."""
