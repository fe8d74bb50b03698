"""``python -m study`` is ``python -m study.run``."""

from study.run import main

if __name__ == "__main__":
    raise SystemExit(main())
