"""Benchmarks of ips, kept out of the core package: they read ``/proc``, call glibc and write the
calibration files that ``estimate`` reads.

- ``python -m bench`` (``throughput.py``): selection and training-step throughput and memory, the fast
  path beside the plain one (``docs/bench/``);
- ``python -m bench.costs`` (``costs.py``): per-patch encoder costs, ``estimate/encoder_costs.json``, the
  dry run's calibration (``estimate.cost``);
- ``python -m bench.gpu_memory`` (``gpu_memory.py``): peak memory of a training step per setting,
  ``estimate/gpu_memory.json``, what ``--gpus-per-trial auto`` packs by (``estimate.gpu_memory``);
- ``measure.py``: wall-clock time and peak memory of one call (CUDA, or the resident set on CPU).

``bench`` imports ``ips``, ``estimate`` and ``search_spaces``, never ``study`` (``device_study`` runs
``python -m study.run`` as a command); nothing imports ``bench``.
"""
