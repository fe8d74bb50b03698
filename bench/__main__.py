"""``python -m bench``: throughput and memory of the fast selection path vs the plain one (see
``bench.throughput``; the flags are those ``python -m ips.bench`` had)."""

from bench.throughput import main

if __name__ == "__main__":
    raise SystemExit(main())
