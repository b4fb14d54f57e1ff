"""Log set-up for the command line: rich output for people, plain lines otherwise."""

from __future__ import annotations

import logging
import sys


def setup_logging(level: str = "INFO") -> None:
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(rich_tracebacks=True, show_path=False)
        fmt = "%(message)s"
    else:
        handler = logging.StreamHandler()
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level.upper(), format=fmt, handlers=[handler], force=True)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
