"""The audit an official runs: its inputs, its derived sample and risk, and its state.

* :mod:`~tallyguard.audit.workflow.inputs`: everything an audit rests on (pure data);
* :mod:`~tallyguard.audit.workflow.engine`: the sample and the risk re-derived from the
  inputs (pure; the same code serves ``tallyguard audit status`` and ``tallyguard verify``);
* :mod:`~tallyguard.audit.workflow.result`: what the engine returns (reports render it);
* :mod:`~tallyguard.audit.workflow.plan_options`: next-round sample sizes with the
  probability of finishing (seeded simulation).
"""
