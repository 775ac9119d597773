"""Progress bars on stderr (tqdm), for the tools' loops and for long steps inside the library."""
from __future__ import annotations

import logging
import sys


def progress(iterable, total: int, desc: str, enabled: bool | None = None):
    """A progress bar on stderr when there is more than one item."""
    if enabled is None:
        enabled = total > 1
    if not enabled:
        return iterable
    return progress_bar(total, desc, iterable=iterable)


def progress_bar(total: int, desc: str, unit: str = 'img', iterable=None, **tqdm_kwargs):
    """A tqdm bar on stderr (update it by hand, or iterate it when ``iterable`` is given)."""
    from tqdm import tqdm
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, **tqdm_kwargs)


def say(line: str):
    """One line on stderr that does not land inside a progress bar's line: an active bar is cleared, the line
    written, the bar drawn again below it (tqdm.write)."""
    from tqdm import tqdm
    tqdm.write(line, file=sys.stderr)


class BarSafeHandler(logging.StreamHandler):
    """A logging handler that writes its records with ``say`` (to the stream of the moment: sys.stderr)."""

    def __init__(self):
        super().__init__(sys.stderr)

    def emit(self, record):
        try:
            say(self.format(record))
        except Exception:  # pragma: no cover - as logging.StreamHandler
            self.handleError(record)
