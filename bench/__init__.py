"""Benchmarks of ips, kept out of the core package: they read ``/proc``, call glibc and write the
calibration files that ``study`` reads.

- ``python -m bench`` (``throughput.py``): selection and training-step throughput and memory, the fast
  path beside the plain one (``docs/bench/``);
- ``python -m bench.costs`` (``costs.py``): per-patch encoder costs, ``study/encoder_costs.json``, the
  dry run's calibration (``study.cost``);
- ``python -m bench.gpu_memory`` (``gpu_memory.py``): peak memory of a training step per setting,
  ``study/gpu_memory.json``, what ``--gpus-per-trial auto`` packs by (``study.gpu_packing``);
- ``measure.py``: wall-clock time and peak memory of one call (CUDA, or the resident set on CPU).

``bench`` may import ``ips`` and ``study``; ``ips`` never imports ``bench``.
"""
