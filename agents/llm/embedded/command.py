"""The ``serve`` command: one argument parser for ``commons-lab serve`` and
``python -m agents.llm.embedded``, and the foreground loop both run."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any, NoReturn

from agents.errors import BadInputError, LabError, ServiceError
from agents.llm.embedded.models import ModelFilesMissing
from agents.llm.embedded.server import (
    DEFAULT_CACHE_PROMPT,
    DEFAULT_CONTEXT,
    DEFAULT_MAX_TOKENS,
    DEFAULT_PARALLEL,
    DEFAULT_PORT,
    EmbeddedServer,
)

HELP = "run the embedded Ollama-compatible server (127.0.0.1 only)"
DESCRIPTION = "Serve smollm2:135m and all-minilm through Ollama's REST API on 127.0.0.1."


EXIT_BAD_ARGUMENT = BadInputError.exit_code  # argparse's own refusals exit with it too


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``serve``, for whichever parser runs it."""
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s, Ollama's)")
    parser.add_argument("--parallel", type=int, default=DEFAULT_PARALLEL, help="request slots")
    parser.add_argument("--ctx", type=int, default=DEFAULT_CONTEXT, help="context tokens per request")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per model")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS,
                        help="answer length when a request sets no num_predict")
    parser.add_argument("--no-embeddings", action="store_true", help="do not serve all-minilm")
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument("--cache-prompt", dest="cache_prompt", action="store_true",
                       default=DEFAULT_CACHE_PROMPT,
                       help="reuse a matching prompt prefix between requests: faster, but a "
                            "seeded answer may then differ from a cold one (default: off)")
    cache.add_argument("--no-cache-prompt", dest="cache_prompt", action="store_false",
                       help="evaluate every prompt whole (the default)")
    parser.add_argument("--verbose", action="store_true", help="log requests and llama.cpp output")

    def one_line_error(message: str) -> NoReturn:
        # A refusal is one line (argparse would add the usage text above it).
        parser.exit(EXIT_BAD_ARGUMENT, f"{parser.prog}: error: {message}\n")

    parser.error = one_line_error  # type: ignore[method-assign]


def main(args: argparse.Namespace) -> int:
    """Serve with the parsed options until SIGINT or SIGTERM; returns 0 after a stop.
    A bad argument raises ``BadInputError`` (exit 2); a port that is taken or models that do
    not load raise ``ServiceError`` (exit 3)."""
    try:
        server = EmbeddedServer(args.host, args.port, args.parallel, args.ctx, args.threads,
                                not args.no_embeddings, max_tokens=args.max_tokens,
                                cache_prompt=args.cache_prompt, verbose=args.verbose)
    except ValueError as exc:
        raise BadInputError(str(exc)) from None
    try:
        return _serve_until_stopped(server, sys.stdout)
    except OSError as exc:  # the port is taken or not ours to bind
        raise ServiceError(str(exc.strerror or exc)) from None
    except (ModelFilesMissing, ImportError, RuntimeError, ValueError) as exc:
        # A model package missing or broken, or llama.cpp unable to load it.
        raise ServiceError(f"cannot load the models: {exc}") from None


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    n_parallel: int = DEFAULT_PARALLEL,
    n_ctx: int = DEFAULT_CONTEXT,
    threads: int = 2,
    embeddings: bool = True,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    cache_prompt: bool = DEFAULT_CACHE_PROMPT,
    verbose: bool = False,
    out: Any = None,
) -> int:
    """Run the server in the foreground until SIGINT or SIGTERM; returns an exit code.

    Prints one line with the URL when ready. Raises ValueError for a non-loopback host and
    OSError when the port is taken.
    """
    server = EmbeddedServer(host, port, n_parallel, n_ctx, threads, embeddings,
                            max_tokens=max_tokens, cache_prompt=cache_prompt, verbose=verbose)
    return _serve_until_stopped(server, out or sys.stdout)


def _serve_until_stopped(server: EmbeddedServer, out: Any) -> int:
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        url = server.start()
        print(f"Ollama-compatible server at {url} (models: {', '.join(server.models)}); "
              f"stop with Ctrl-C", file=out, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def standalone(argv: list[str] | None = None) -> int:
    """``python -m agents.llm.embedded``: parse ``argv`` and serve."""
    parser = argparse.ArgumentParser(prog="python -m agents.llm.embedded", description=DESCRIPTION)
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        return main(args)
    except LabError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return err.exit_code
