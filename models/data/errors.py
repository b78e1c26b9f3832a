"""The one exception type the data layer raises, so callers can report it without a traceback."""
from __future__ import annotations

DATA_DIR_HINT = "point --data-dir / STS_DATA_DIR at a folder laid out like shared/data/sts"


class DataError(ValueError):
    """Input data is missing or malformed; the message says which file and how to fix it."""
