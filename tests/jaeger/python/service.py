"""Cross-language peer for the maximus-trace Jaeger tests.

A tiny HTTP service instrumented with the *official* OpenTelemetry Python SDK
(opentelemetry-api / -sdk / -exporter-otlp-proto-http, pinned in
requirements.txt and installed into a venv by setup_venv.sh). A Rust test
starts it as a subprocess and drives it over HTTP to prove that trace context
and baggage cross the Rust <-> Python boundary in both directions and that
both sides' spans land in the same trace in a real Jaeger.

Usage
-----
    python service.py --port 0 --service-name maximus-python \
        --otlp-endpoint http://127.0.0.1:4318/v1/traces

* Binds 127.0.0.1 (``--host`` to change). With ``--port 0`` the OS picks a
  free port.
* Once it accepts connections it prints exactly one line to stdout,
  ``LISTENING <port>``, and flushes it. Nothing else is ever written to
  stdout; request logs and SDK diagnostics go to stderr.

Telemetry setup
---------------
* TracerProvider with resource ``service.name=<--service-name>`` and sampler
  ParentBased(AlwaysOn) (set explicitly, so OTEL_TRACES_SAMPLER in the
  environment cannot change it).
* BatchSpanProcessor (schedule delay ``--schedule-delay-ms``, default 200 ms)
  feeding OTLPSpanExporter(endpoint=<--otlp-endpoint>) (OTLP/HTTP protobuf;
  the endpoint is used as given, so include the ``/v1/traces`` path).
* Global propagator = W3C tracecontext + W3C baggage (set explicitly).
* If a *_proxy environment variable is set, 127.0.0.1/localhost/::1 are
  added to no_proxy, so neither the exporter nor the callback use a proxy.

HTTP API
--------
``GET /work?callback=<url-encoded URL>``
    1. Extracts the context from the request headers (``traceparent``,
       ``tracestate``, ``baggage``) with the global propagator.
    2. Starts a SERVER span ``GET /work``, child of the extracted context,
       with ``http.request.method``, ``url.path``, ``url.scheme``,
       ``http.route=/work``, ``server.address``, ``server.port``, one
       ``baggage.<key>=<value>`` attribute per extracted baggage entry, and
       finally ``http.response.status_code``.
    3. Inside it, a CLIENT span ``GET`` (``http.request.method``, ``url.full``,
       ``server.address``, ``server.port``, then
       ``http.response.status_code``) performs ``GET <callback>`` with urllib,
       injecting the current context (``traceparent`` [+ ``tracestate``] +
       ``baggage``) into the request headers. So the callback sees the same
       trace id, the CLIENT span's id as parent id, and the same baggage.
    4. Replies ``200`` with JSON::

           {"trace_id": "<32 hex>", "span_id": "<SERVER span id, 16 hex>",
            "client_span_id": "<CLIENT span id, 16 hex>",
            "baggage": {"key": "value", ...}, "callback_status": <int>}

       If the callback fails (connection error, timeout, or an HTTP status
       >= 400) the CLIENT span (and the SERVER span) get status ERROR (plus
       ``error.type`` and an exception event) and the reply is ``502`` with the
       same JSON fields plus ``"error": "<error text>"`` (``callback_status``
       is the callback's HTTP status, or null if none was received).
       Without a ``callback`` parameter no CLIENT span is made and
       ``callback_status``/``client_span_id`` are null.

``POST /shutdown`` (or SIGTERM / SIGINT)
    Force-flushes the tracer provider (so when the ``200`` reply arrives every
    span finished so far has been handed to the exporter endpoint), then stops
    the server, shuts the tracer provider down (flushing anything left) and
    exits with status 0. The reply is JSON ``{"shutdown": true, "flushed":
    <bool>}``; ``flushed`` only says the flush finished in time, not that the
    collector accepted the spans (the exporter logs failures to stderr). With
    an unreachable collector the exporter's retries make this take ~8-10 s.

Anything else: ``404``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry import baggage, context, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

CALLBACK_TIMEOUT_S = 10.0
FLUSH_TIMEOUT_MS = 15_000


def log(msg: str) -> None:
    print(f"[maximus-python] {msg}", file=sys.stderr, flush=True)


class Service:
    """Owns the tracer provider, the HTTP server and the stop signal."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": args.service_name}),
            sampler=ParentBased(ALWAYS_ON),
        )
        self.provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(endpoint=args.otlp_endpoint, timeout=10),
                schedule_delay_millis=args.schedule_delay_ms,
            )
        )
        trace.set_tracer_provider(self.provider)
        propagate.set_global_textmap(
            CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
        )
        self.tracer = trace.get_tracer("maximus-python-service")
        self.stop = threading.Event()
        handler = type("BoundHandler", (Handler,), {"service": self})
        self.server = ThreadingHTTPServer((args.host, args.port), handler)
        self.server.daemon_threads = True

    def flush(self) -> bool:
        return self.provider.force_flush(timeout_millis=FLUSH_TIMEOUT_MS)

    def run(self) -> int:
        serve = threading.Thread(target=self.server.serve_forever, name="http", daemon=True)
        serve.start()
        host, port = self.server.server_address[:2]
        log(f"listening on http://{host}:{port}")
        sys.stdout.write(f"LISTENING {port}\n")
        sys.stdout.flush()
        # Wake up regularly so signal handlers run promptly in the main thread.
        while not self.stop.wait(0.1):
            pass
        log("shutting down")
        self.server.shutdown()
        self.server.server_close()
        flushed = self.flush()
        self.provider.shutdown()
        log(f"tracer provider flushed={flushed} and shut down; exiting")
        return 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "maximus-python/1"
    service: Service  # set on the bound subclass

    # -- plumbing -----------------------------------------------------------

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        log(f"{self.address_string()} {format % args}")

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _drain_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)

    def _not_found(self) -> None:
        self._drain_body()
        self._reply(404, {"error": f"not found: {self.command} {self.path}"})

    # -- routes -------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/work":
            self._work(url)
        else:
            self._not_found()

    def do_POST(self) -> None:  # noqa: N802
        if urllib.parse.urlsplit(self.path).path == "/shutdown":
            self._drain_body()
            flushed = self.service.flush()
            self.close_connection = True
            self._reply(200, {"shutdown": True, "flushed": flushed})
            self.service.stop.set()
        else:
            self._not_found()

    def do_PUT(self) -> None:  # noqa: N802
        self._not_found()

    def do_DELETE(self) -> None:  # noqa: N802
        self._not_found()

    def do_HEAD(self) -> None:  # noqa: N802
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _work(self, url: urllib.parse.SplitResult) -> None:
        callbacks = urllib.parse.parse_qs(url.query).get("callback", [])
        callback = callbacks[0] if callbacks else None

        # Extract with the *global* propagator; make the result current so
        # that its baggage stays in the context the spans run in (and is
        # injected again into the callback request).
        carrier = {k.lower(): v for k, v in self.headers.items()}
        extracted = propagate.extract(carrier)
        bag = {k: str(v) for k, v in baggage.get_all(extracted).items()}
        token = context.attach(extracted)
        try:
            self._work_in_context(url, callback, bag)
        finally:
            context.detach(token)

    def _work_in_context(self, url, callback, bag) -> None:
        tracer = self.service.tracer
        host, port = self.server.server_address[:2]
        attrs = {
            "http.request.method": "GET",
            "url.path": url.path,
            "url.scheme": "http",
            "http.route": "/work",
            "server.address": host,
            "server.port": port,
        }
        attrs.update({f"baggage.{k}": v for k, v in bag.items()})
        with tracer.start_as_current_span(
            "GET /work", kind=SpanKind.SERVER, attributes=attrs
        ) as server_span:
            sctx = server_span.get_span_context()
            body = {
                "trace_id": trace.format_trace_id(sctx.trace_id),
                "span_id": trace.format_span_id(sctx.span_id),
                "client_span_id": None,
                "baggage": bag,
                "callback_status": None,
            }
            error = None
            if callback is not None:
                error = self._call(callback, body)
            status = 200 if error is None else 502
            server_span.set_attribute("http.response.status_code", status)
            if error is not None:
                body["error"] = error
                server_span.set_attribute("error.type", str(status))
                server_span.set_status(Status(StatusCode.ERROR, error))
        # Reply after the server span ended, so a /shutdown that follows this
        # reply is guaranteed to flush it.
        self._reply(status, body)

    def _call(self, callback: str, body: dict) -> str | None:
        """GET the callback inside a CLIENT span. Returns error text or None."""
        target = urllib.parse.urlsplit(callback)
        default_port = 443 if target.scheme == "https" else 80
        attrs = {
            "http.request.method": "GET",
            "url.full": callback,
            "server.address": target.hostname or "",
            "server.port": target.port or default_port,
        }
        with self.service.tracer.start_as_current_span(
            "GET",
            kind=SpanKind.CLIENT,
            attributes=attrs,
            record_exception=False,
            set_status_on_exception=False,
        ) as client_span:
            body["client_span_id"] = trace.format_span_id(client_span.get_span_context().span_id)
            headers: dict[str, str] = {}
            propagate.inject(headers)  # current context: CLIENT span + baggage
            request = urllib.request.Request(callback, headers=headers, method="GET")
            try:
                with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT_S) as resp:
                    resp.read()
                    status = resp.status
            except urllib.error.HTTPError as exc:
                exc.read()
                exc.close()
                body["callback_status"] = exc.code
                client_span.set_attribute("http.response.status_code", exc.code)
                client_span.set_attribute("error.type", str(exc.code))
                text = f"callback {callback} answered HTTP {exc.code}"
                client_span.set_status(Status(StatusCode.ERROR, text))
                return text
            except Exception as exc:  # noqa: BLE001 - any failure becomes a 502
                text = f"callback {callback} failed: {exc!r}"
                client_span.record_exception(exc)
                client_span.set_attribute("error.type", type(exc).__qualname__)
                client_span.set_status(Status(StatusCode.ERROR, text))
                return text
            body["callback_status"] = status
            client_span.set_attribute("http.response.status_code", status)
            return None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument("--service-name", default="maximus-python")
    p.add_argument(
        "--otlp-endpoint",
        default="http://127.0.0.1:4318/v1/traces",
        help="full OTLP/HTTP traces URL, including /v1/traces",
    )
    p.add_argument("--schedule-delay-ms", type=int, default=200)
    return p.parse_args(argv)


def bypass_proxies_for_loopback() -> None:
    """Both urllib (callback) and requests (OTLP exporter) honour *_proxy
    environment variables; this service only talks to loopback addresses,
    so never send those through a proxy."""
    names = ("http_proxy", "https_proxy", "all_proxy")
    if not any(os.environ.get(n) or os.environ.get(n.upper()) for n in names):
        return
    current = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    value = ",".join(x for x in (current, "127.0.0.1,localhost,::1") if x)
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = value


def main(argv: list[str] | None = None) -> int:
    bypass_proxies_for_loopback()
    service = Service(parse_args(argv))

    def on_signal(signum, _frame):
        log(f"got signal {signum}")
        service.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return service.run()


if __name__ == "__main__":
    sys.exit(main())
