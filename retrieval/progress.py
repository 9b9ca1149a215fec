"""Progress bars for the stages of a build (reading, cleaning, splitting, names, BM25, writing)."""

from __future__ import annotations


def stage(items, label: str, progress: bool, unit: str = "file", total: int | None = None):
    """``items`` with a progress bar (rate, ETA) that appears only if the stage lasts over a second.

    With ``items`` None and a ``total``, the bar itself (or None without ``progress``), for a loop
    that advances it by hand: ``bar.update(n)``, then ``bar.close()``.
    """
    if not progress:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit=unit, delay=1.0, total=total)
