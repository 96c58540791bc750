"""``python -m scenarios list`` / ``python -m scenarios run NAME ...``."""

from ._cli import main

raise SystemExit(main())
