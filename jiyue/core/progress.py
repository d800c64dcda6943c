"""One progress bar for long commands (backup, restore, key rotation).

    with progress_bar(self.stderr._out, gettext("备份"), "B", enabled=not no_progress,
                      unit_scale=True) as progress:
        services.create_backup(..., progress=progress)

`progress(done, total)` is the callback the services take; the bar appears on the first call
(when the total is known) and is closed when the block ends, also on error.
"""

from __future__ import annotations

from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def progress_bar(stream, desc: str, unit: str, *, enabled: bool = True, **options):
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if not enabled:
            return
        if bar is None:
            bar = tqdm(total=total, desc=desc, unit=unit, file=stream, leave=True, **options)
        bar.update(done - bar.n)  # redraws at most every 0.1 s

    try:
        yield progress
    finally:
        if bar is not None:
            bar.close()
