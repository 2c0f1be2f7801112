"""Statistical election forensics on unit-level results, calibrated by simulation.

==================  =============================================================
``table``           ``UnitTable``: the per-unit vectors every test reads
``load``            reading a results file, column mapping, stated exclusion rules
``presets``         known file layouts (``ru-cec``, ``clarity``)
``result``          ``TestResult``: statistics, p-value against a stated null
``integer``         integer percentages (Kobak, Shpilkin & Pshenichnikov 2016)
``fingerprint``     turnout x share fingerprint and its detection test (Klimek 2012)
``klimek``          the Klimek fraud model: fair parameters, simulator, fit
``klimek_bootstrap``  parametric-bootstrap intervals of that fit
``relation``        turnout-share relation within regions (Sobyanin-Sukhovolsky)
``digit_laws``      exact digit laws of binomial counts, and a sampler
``digits``          last-digit (Beber & Scacco 2012) and 2BL (Mebane) tests
``benford``         first-digit Benford: a labelled negative example only
``outliers``        robust outliers against a prior election
``multiplicity``    Benjamini-Hochberg / Yekutieli q-values
``clean_model``     the clean model fitted to an input, and its simulation
``calibrate``       false-positive rate and power of every test by simulation
``battery``         every test overall and per region, BH over the family
``pipeline``        the whole analysis of a file and its JSON summary
==================  =============================================================
"""
