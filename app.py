"""egov-qa's chat: `python app.py` opens it at http://127.0.0.1:7860 on the shipped deck.

Host and port come from --host/--port or EGOV_QA_HOST/EGOV_QA_PORT. The index is
built first if it is missing or stale. --auth USER:HASH (or EGOV_QA_AUTH) requires a
login; `python app.py --hash-password` makes the HASH.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from egov_qa.errors import EgovQAError


def port_number(text: str) -> int:
    """A TCP port from the command line or the environment: a whole number from 1 to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port: give a whole number from 1 to 65535 (--port N, or EGOV_QA_PORT=N)"
        )
    return port


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Open the egov-qa chat in the browser.")
    parser.add_argument(
        "--host",
        default=os.environ.get("EGOV_QA_HOST", "127.0.0.1"),
        help="address to listen on (default: $EGOV_QA_HOST or 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        # A string default goes through the type too: a bad $EGOV_QA_PORT is a usage error.
        default=os.environ.get("EGOV_QA_PORT", "7860"),
        help="port (default: $EGOV_QA_PORT or 7860)",
    )
    parser.add_argument(
        "--corpus", type=Path, default=None, help="folder of decks (default: $EGOV_QA_CORPUS or corpus/)"
    )
    parser.add_argument("--index", type=Path, default=None, help="index folder (default: $EGOV_QA_INDEX or index/)")
    parser.add_argument(
        "--store",
        default=None,
        help="keep the index in Milvus: PATH.db (Milvus Lite) or http://HOST:PORT (a Milvus server); "
        "default: $EGOV_QA_STORE, else the --index folder",
    )
    parser.add_argument("--model", default=None, help="embedding model name or folder")
    parser.add_argument("--data", type=Path, default=None, help="feedback folder (default: $EGOV_QA_DATA or data/)")
    parser.add_argument(
        "--evals", type=Path, default=None, help="eval folder the Evals tab reads and runs (default: evals/)"
    )
    parser.add_argument(
        "--auth",
        default=os.environ.get("EGOV_QA_AUTH") or None,
        metavar="USER:HASH",
        help="require this login (default: $EGOV_QA_AUTH, else none); make HASH with --hash-password",
    )
    parser.add_argument(
        "--hash-password", action="store_true", help="ask for a password, print its hash for --auth, and exit"
    )
    return parser.parse_args(argv)


def print_password_hash() -> int:
    """Ask for a password twice (not echoed) and print its hash for ``--auth USER:HASH``."""
    import getpass

    from egov_qa.app.login import hash_password

    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Again: "):
        print("egov-qa: error: the two passwords differ: run --hash-password again", file=sys.stderr)
        return 1
    try:
        print(hash_password(password))
    except ValueError as exc:
        print(f"egov-qa: error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.hash_password:
        return print_password_hash()
    from egov_qa.cli import setup_logging, until_stopped

    setup_logging()
    # SIGTERM (`kill`, a service manager's stop) stops the chat as Ctrl+C does: the server closes
    # and what the process made in the temporary folder (an index build's model export) goes.
    return until_stopped(lambda: serve(args))


def serve(args: argparse.Namespace) -> int:
    """Load the assistant, open the chat and serve it until stopped."""
    from egov_qa.app.chat import build_app, launch, listen_problem
    from egov_qa.app.login import parse_login
    from egov_qa.assistant import Assistant
    from egov_qa.evaluation.feedback import default_data_dir
    from egov_qa.index.stores import store_spec
    from egov_qa.paths import option_folder

    try:
        login = parse_login(args.auth) if args.auth else None
    except EgovQAError as exc:
        print(f"egov-qa: error: {exc}", file=sys.stderr)
        return 2
    problem = listen_problem(args.host, args.port)
    if problem:
        print(f"egov-qa: error: {problem}", file=sys.stderr)
        return 1
    try:
        # Votes and added decks are kept in --data, the Evals tab reads --evals: a file in the
        # place of either is said before the model loads.
        option_folder(args.data or default_data_dir(), "--data", "feedback and added decks (or EGOV_QA_DATA=DIR)")
        if args.evals is not None:
            option_folder(args.evals, "--evals", "the eval sets the Evals tab reads")
    except EgovQAError as exc:
        print(f"egov-qa: error: {exc}", file=sys.stderr)
        return 1

    try:
        print("egov-qa: loading the model and the index…", flush=True)
        assistant = Assistant(
            args.corpus,
            args.index,
            model=args.model,
            progress=lambda message: print(f"egov-qa: {message}", flush=True),
            store=store_spec(args.store),
        )
    except EgovQAError as exc:
        print(f"egov-qa: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"egov-qa: error: {exc.strerror or exc} ({exc.filename}): check the path and its permissions",
            file=sys.stderr,
        )
        return 1
    assistant.warm_up()
    demo = build_app(assistant, data_dir=args.data, evals_dir=args.evals)
    try:
        launch(demo, args.host, args.port, login)
    except OSError as exc:
        # Taken since it was checked (another program started in between): say why again.
        problem = listen_problem(args.host, args.port) or f"cannot listen on {args.host}:{args.port}: {exc}"
        print(f"egov-qa: error: {problem}", file=sys.stderr)
        return 1
    # Only now that it listens: the address printed is one that works.
    print(f"egov-qa: chat at http://{args.host}:{args.port}", flush=True)
    demo.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
