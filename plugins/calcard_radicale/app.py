"""Radicale's configuration for calcard and the WSGI application built from it."""

from __future__ import annotations

from defusedxml import DefusedXmlException
from radicale import Application, config

from calcard.config import Settings
from calcard_radicale import scheduling


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
    """Radicale, with calcard's free/busy answers (see scheduling.py) and forbidden XML
    constructs (entities, DTDs) answered with 400 instead of 500."""

    def _read_xml_request_body(self, environ, request_info):
        try:
            return super()._read_xml_request_body(environ, request_info)
        except DefusedXmlException as exc:
            raise RuntimeError(f"forbidden XML construct: {exc}") from exc

    def do_REPORT(self, environ, base_prefix, path, user, user_groups, request_info):
        body = scheduling.read_body(environ)
        if scheduling.is_free_busy_query(body):
            return scheduling.free_busy_report(body, path, user)
        return super().do_REPORT(environ, base_prefix, path, user, user_groups, request_info)

    def do_POST(self, environ, base_prefix, path, user, user_groups, request_info):
        if user and scheduling.is_outbox(path, user):
            return scheduling.outbox_post(scheduling.read_body(environ), user)
        return super().do_POST(environ, base_prefix, path, user, user_groups, request_info)

    def __call__(self, environ, start_response):
        """Advertise server-side scheduling (RFC 6638 §2.1) in every DAV header."""

        def with_auto_schedule(status, headers, exc_info=None):
            headers = [
                (k, f"{v}, calendar-auto-schedule" if k.lower() == "dav" else v) for k, v in headers
            ]
            return start_response(status, headers, exc_info)

        return super().__call__(environ, with_auto_schedule)

    def _xml_response(self, xml_content, request_info):
        scheduling.advertise(xml_content)
        return super()._xml_response(xml_content, request_info)


def wsgi_app(settings: Settings) -> Application:
    return CalcardApplication(radicale_configuration(settings))
