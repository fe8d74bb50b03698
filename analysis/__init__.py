"""Rebuild the follow-up paper's tables and check its findings, reading only what studies logged to MLflow.

    python -m analysis.report patch_size_low_data [--tracking-uri URI] [--out DIR] [--summary final|best]
    python -m analysis.report --compare noise_amount@1 noise_amount@2

Modules, in the order data flows through them:

- ``store``: find the store, a study's invocations (parent runs) and its trials (child runs);
- ``runs``: ``load_study`` -> ``LoggedStudy`` with tidy ``trials`` and long ``history`` frames (last
  value wins);
- ``epoch_values``: one value per trial and metric, at the final epoch (default) or the best epoch;
  ``task_values``: those values per (trial, task) in long form, with chance levels;
- ``chance``: chance levels from the logged ``label_distribution.json``: what a model blind to the
  images scores (the training set's most frequent class);
- ``status``: outcomes (completed, early_stopped, not_converged, failed, ...), each trial counted once;
- ``published`` (+ ``published.json``): the paper's values, by table number;
- ``tables`` (+ ``paper_columns``): the paper-table layout, ours beside the paper's; ``compare``: two
  tables side by side (the glance ``python -m study.run`` prints when its trials end is the runner's
  own, ``study.summary``);
- ``intervals`` (Welch-Satterthwaite t intervals of contrasts of cell means, calibrated for few
  seeds), ``headline`` (the task that decides, and the gate: no verdict on smoke or where nothing
  learned), ``verdicts``, ``findings``, ``claims``, ``chance_thresholds``: the findings and their
  verdicts;
- ``trials_csv``: every trial's values as one ``trials.csv`` (what a committed result keeps), read
  back as a study that every table, plot and finding takes as it takes MLflow's;
- ``plots``: learning curves, accuracy against the varied factor, O2I x data-size heatmap;
- ``report``: the command line. Notebooks: ``analysis/notebooks/``.

``analysis`` imports mlflow, pandas, numpy and matplotlib, and ``study.tracking`` for names only; never
``ips`` or Ray.
"""
