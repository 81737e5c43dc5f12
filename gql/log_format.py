"""Log formatting for the server: uvicorn's own log lines never show a URL's password
either (db.settings.MaskingFormatter does the same for billclass's)."""

from __future__ import annotations

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG
from uvicorn.logging import DefaultFormatter

from db.settings import mask_urls


class MaskingUvicornFormatter(DefaultFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_urls(super().format(record))


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with the masking formatter (worker
    processes apply it too)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["default"]["()"] = f"{__name__}.MaskingUvicornFormatter"
    return config
