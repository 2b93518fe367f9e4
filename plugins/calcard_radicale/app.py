"""Radicale's configuration for calcard and the WSGI application built from it."""

from __future__ import annotations

from defusedxml import DefusedXmlException
from radicale import Application, config

from calcard.config import Settings


def radicale_configuration(settings: Settings) -> config.Configuration:
    configuration = config.load()
    configuration.update(
        {
            "server": {
                "max_content_length": str(settings.max_body_size),
                "max_resource_size": str(settings.max_resource_size),
            },
            "auth": {
                "type": "calcard_radicale.auth",
                "cache_logins": "False",
                "delay": str(settings.auth_delay),
            },
            "rights": {"type": "calcard_radicale.rights"},
            "storage": {"type": "calcard_radicale.storage"},
            "web": {"type": "none"},
            "hook": {"type": "none"},
            "sharing": {"type": "none"},
            "logging": {"level": settings.log_level, "mask_passwords": "True"},
        },
        "calcard",
        privileged=True,
    )
    return configuration


class CalcardApplication(Application):
    """Radicale, answering forbidden XML constructs (entities, DTDs) with 400, not 500."""

    def _read_xml_request_body(self, environ, request_info):
        try:
            return super()._read_xml_request_body(environ, request_info)
        except DefusedXmlException as exc:
            raise RuntimeError(f"forbidden XML construct: {exc}") from exc


def wsgi_app(settings: Settings) -> Application:
    return CalcardApplication(radicale_configuration(settings))
