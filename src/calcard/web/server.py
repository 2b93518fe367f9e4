"""``calcard serve``: one ASGI process (or N workers) on one port."""

from __future__ import annotations

import logging
import logging.config

import uvicorn

from calcard.core import metrics
from calcard.core.config import load_settings
from calcard.web import logs


def serve(host: str, port: int, workers: int) -> None:
    """Run until Ctrl-C or SIGTERM; uvicorn shuts workers down gracefully.

    Several workers with metrics on share a fresh ``PROMETHEUS_MULTIPROC_DIR`` (set
    before they start, removed when they are done), so any of them answers a scrape
    with the sum of all.
    """
    settings = load_settings()
    config = logs.log_config(settings.log_format)
    logging.config.dictConfig(config)
    logging.getLogger("calcard").info("calcard listening on http://%s:%d/", host, port)
    with metrics.multiprocess_dir(bool(settings.metrics_token) and workers > 1):
        uvicorn.run(
            "calcard_radicale.asgi:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=config,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
