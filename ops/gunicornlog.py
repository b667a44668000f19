"""gunicorn's own messages as JSON lines too (the app logs each request itself)."""

from __future__ import annotations

import logging

from gunicorn.glogging import Logger

from ops.jsonlog import JsonFormatter, skip_unused_record_fields


class JsonLogger(Logger):
    """gunicorn error log in JSON; its access log is off (the app writes one with request ids)."""

    def setup(self, cfg) -> None:
        """Install the JSON formatter on gunicorn's error log handlers."""
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
        logging.getLogger().handlers[:] = list(self.error_log.handlers)
        logging.getLogger().setLevel(logging.INFO)
        skip_unused_record_fields()
