"""HTTP: the ASGI application (``web.app``), the JSON API (``web.api``), the
server process (``web.server``) and what only the web pages and devices need
(Apple profiles, QR codes). Nothing outside ``web`` and ``cli`` imports it
(the Radicale adapter in ``plugins/`` composes it with the DAV engine).
"""
