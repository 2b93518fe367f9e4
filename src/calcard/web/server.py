"""``calcard serve``: one ASGI process (or N workers) on one port."""

from __future__ import annotations

import logging

import uvicorn

LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"err": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "calcard": {"handlers": ["err"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["err"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "radicale": {"handlers": ["err"], "level": "WARNING", "propagate": False},
    },
}


def serve(host: str, port: int, workers: int) -> None:
    """Run until Ctrl-C or SIGTERM; uvicorn shuts workers down gracefully."""
    logging.getLogger("calcard").info("calcard listening on http://%s:%d/", host, port)
    uvicorn.run(
        "calcard_radicale.asgi:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=LOG_CONFIG,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
