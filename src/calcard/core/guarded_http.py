"""The httpx transport of ``calcard.core.outbound``: every connection it opens goes to an
address the Policy checked when it was resolved (one resolution, no DNS rebinding).

Its own module so that httpx is imported only by ``outbound.client``, on the first
outbound request.
"""

from __future__ import annotations

from typing import Any

import httpcore
import httpx

from calcard.core.outbound import Policy


class _GuardedBackend(httpcore.SyncBackend):
    """Opens TCP connections only to checked addresses (the check and the connect are one)."""

    def __init__(self, guard: Policy) -> None:
        self.guard = guard

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        address = self.guard.check(host, port)[0]
        return super().connect_tcp(str(address), port, timeout, local_address, socket_options)


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self):
        yield from self._stream

    def close(self) -> None:
        if hasattr(self._stream, "close"):
            self._stream.close()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport over httpcore whose every connection passes the Policy."""

    def __init__(self, guard: Policy) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            network_backend=_GuardedBackend(guard),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = self._pool.handle_request(core)
        except httpcore.TimeoutException as exc:
            raise httpx.TimeoutException(str(exc), request=request) from exc
        except httpcore.NetworkError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except httpcore.ProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def client(guard: Policy, timeout: float) -> httpx.Client:
    """An httpx client for user-chosen URLs: guarded connections, no redirects, no proxies."""
    return httpx.Client(
        transport=GuardedTransport(guard),
        follow_redirects=False,
        trust_env=False,
        timeout=timeout,
    )
