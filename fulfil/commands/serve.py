"""`fulfil serve`: run the API (and, when configured, the reader ingest) with uvicorn."""

from __future__ import annotations

import argparse

from fulfil.config import get_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from fulfil.app import create_app

    settings = get_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"Fulfil API on http://{host}:{port}  (OpenAPI docs: http://{host}:{port}/docs)", flush=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` command."""
    serve = subparsers.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default=None, help="interface to bind (FULFIL_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (FULFIL_PORT, default 8000)")
    serve.set_defaults(func=_serve)
