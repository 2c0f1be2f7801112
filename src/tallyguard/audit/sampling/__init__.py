"""Verifiable random sampling of ballots: Rivest's consistent sampler and Stark's SHA-256 PRNG.

* :mod:`~tallyguard.audit.sampling.consistent`: Rivest, R.L. (2018), "Consistent
  Sampling with Replacement", arXiv:1808.10016, bit-identical with the
  ``consistent-sampler`` package (as Arlo uses it, ``digits=18``) and about 20x
  faster on a 5,000,000-ballot manifest (``benchmarks/bench_sampling.py``);
* :mod:`~tallyguard.audit.sampling.prng` and
  :mod:`~tallyguard.audit.sampling.prng_sampling`: Stark's SHA-256 pseudo-random
  number generator and sampling functions, bit-identical with the ``cryptorandom``
  package (as SHANGRLA uses them);
* :mod:`~tallyguard.audit.sampling.rivest2011`: Rivest's 2011 ``sampler.py``;
* :mod:`~tallyguard.audit.sampling.seeds`: checking a public dice seed.
"""

from tallyguard.audit.sampling.consistent import (
    BallotDraw,
    Draw,
    arlo_ballot_id,
    ballot_id,
    consistent_sample,
    sample_manifest,
)
from tallyguard.audit.sampling.prng import SHA256, assign_sample_nums, get_prng
from tallyguard.audit.sampling.prng_sampling import (
    random_permutation,
    random_sample,
    sample_by_index,
)
from tallyguard.audit.sampling.rivest2011 import rivest_sample
from tallyguard.audit.sampling.seeds import validate_dice_seed

__all__ = [
    "SHA256",
    "BallotDraw",
    "Draw",
    "arlo_ballot_id",
    "assign_sample_nums",
    "ballot_id",
    "consistent_sample",
    "get_prng",
    "random_permutation",
    "random_sample",
    "rivest_sample",
    "sample_by_index",
    "sample_manifest",
    "validate_dice_seed",
]
