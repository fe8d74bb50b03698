"""Estimates of a trial before it runs, from its config alone: what it costs and how much GPU memory it
needs. Imports ``ips`` only, so the runner (``study``), the benchmarks that calibrate it (``bench``) and a
notebook can all read it.

- ``cost``: encoder multiply-accumulates and seconds of a trial (``encoder_costs.json``, measured by
  ``python -m bench.costs``): the dry run's time and the runner's ETA;
- ``gpu_memory``: a trial's peak GPU memory and the share of a card that holds it, with the CUDA
  context beside it (``gpu_memory.json``, measured by ``python -m bench.gpu_memory``):
  ``--gpus-per-trial auto`` and the trials' CUDA caps.
"""
