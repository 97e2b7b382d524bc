"""`returns-console serve`: the console in a web browser, for a consultant to share a tab.

textual-serve runs one command per browser tab and talks to it over a websocket. That
command is this module run as a program (`python -m returns_console.serve --demo` or
`--profile NAME`), which opens the console like `returns-console demo` does in a terminal;
it is not `returns-console demo` itself, which prints a table when its output is no
terminal (and under textual-serve it is a pipe).

Presenter mode is on unless the caller says otherwise, and the server listens on 127.0.0.1
unless told another address.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from .errors import UserError

TITLE = "Returns Console"
_WILDCARDS = ("0.0.0.0", "::", "")


def serve_console(obj: dict, *, use_demo: bool, profile_name: str | None, host: str,
                  port: int, presenter: bool) -> None:
    """Serve the console until Ctrl-C (or SIGTERM). Every failure a person can cause is a
    UserError: one line, exit 2."""
    what, profile = _what_to_serve(obj, use_demo, profile_name or obj.get("profile_name"))
    port = _check_port(host, port)
    url = public_url(host, port)
    command = session_command(profile=profile, presenter=presenter,
                              read_only=bool(obj.get("read_only")),
                              config_path=obj.get("config_path"), theme=obj.get("theme"))
    lines = [f"Returns Console on {what} in the browser: open {url}",
             f"  presenter mode {'on' if presenter else 'OFF: customer details are shown'}; "
             "each browser tab gets its own console"]
    if not _is_loopback(host):
        lines.append(f"  note: anyone who can reach {url} gets this console, with no login"
                     + ("" if obj.get("read_only") else
                        "; `returns-console --read-only serve ...` refuses every write"))
    lines.append("Ctrl-C to stop.")

    server = _server_class()(command, host=host, port=port, title=TITLE,
                             public_url=url, banner="\n".join(lines))
    try:
        server.serve()
    except OSError as exc:  # lost the port between the check and the bind
        raise UserError(f"cannot serve on {_host_port(host, port)}: "
                        f"{exc.strerror or exc}") from None
    print("stopped", flush=True)


def _server_class():
    """textual-serve's Server, with our banner, quiet access logs, and a shutdown that ends
    each tab's console (textual-serve would leave them running until aiohttp's 60 s grace
    for open requests is over)."""
    import asyncio
    import logging

    from textual_serve.server import Server

    class ConsoleServer(Server):
        def __init__(self, *args, banner: str, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.banner = banner
            self.tabs: dict[asyncio.Task, asyncio.Event] = {}

        def initialize_logging(self) -> None:
            super().initialize_logging()
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

        async def on_startup(self, app) -> None:  # instead of textual-serve's logo
            print(self.banner, flush=True)

        async def handle_websocket(self, request):
            task, ended = asyncio.current_task(), asyncio.Event()
            if task is not None:
                self.tabs[task] = ended
            try:
                return await super().handle_websocket(request)
            finally:
                self.tabs.pop(task, None)
                ended.set()

        async def on_shutdown(self, app) -> None:
            """Cancel each tab's websocket handler: textual-serve then closes the websocket
            and asks the console to quit (the console closes its session), then waits for
            it."""
            ended = [asyncio.ensure_future(event.wait()) for event in self.tabs.values()]
            for task in list(self.tabs):
                task.cancel()
            if ended:
                await asyncio.wait(ended, timeout=10)

    return ConsoleServer


def session_command(*, profile: str | None, presenter: bool, read_only: bool = False,
                    config_path: Path | str | None = None, theme: str | None = None) -> str:
    """The shell command textual-serve runs for each browser tab: this same Python running
    this module, on the demo (profile None) or the profile."""
    argv = [sys.executable, "-m", __name__]
    if config_path is not None:
        argv += ["--config", str(Path(config_path).resolve())]
    if theme:
        argv += ["--theme", theme]
    if read_only:
        argv.append("--read-only")
    if presenter:
        argv.append("--presenter")
    argv += ["--demo"] if profile is None else ["--profile", profile]
    # textual-serve hands the command to the shell (asyncio.create_subprocess_shell).
    return subprocess.list2cmdline(argv) if os.name == "nt" else shlex.join(argv)


def public_url(host: str, port: int) -> str:
    """The address to open: the host as given (a wildcard means this machine's name)."""
    name = socket.gethostname() if host in _WILDCARDS else host
    if ":" in name:  # an IPv6 literal
        name = f"[{name}]"
    return f"http://{name}:{port}"


def _what_to_serve(obj: dict, use_demo: bool, name: str | None) -> tuple[str, str | None]:
    """("the demo", None) or ("profile NAME", NAME), checked before anything is served."""
    if use_demo:
        if name:
            raise UserError("choose one of --demo, --profile")
        return "the demo", None
    from .cli_sessions import load_profile
    from .config import load_config
    from .locations import resolve

    path = resolve(obj.get("config_path")).config_file
    if name is None and load_config(path).default_profile is None:
        raise UserError(f"say what to serve: --demo, or --profile NAME (no default profile "
                        f"in {path})")
    profile = load_profile(obj, name)
    return f"profile {profile.name}", profile.name


def _check_port(host: str, port: int) -> int:
    """Bind once to say at once (one line) why the server could not; port 0: pick a free
    port (textual-serve needs the number for the page's websocket address)."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UserError(f"cannot serve on {host!r}: {exc.strerror or exc}") from None
    error: OSError | None = None
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            if os.name != "nt":  # as aiohttp binds: a port in TIME_WAIT is free
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                error = error or exc
                continue
            return probe.getsockname()[1]
    assert error is not None
    raise UserError(f"cannot serve on {_host_port(host, port)}: "
                    f"{error.strerror or error}") from None


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def session_main(argv: list[str] | None = None) -> None:
    """One browser tab's console (run by textual-serve, never by a person)."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {__name__}",
        description="One browser tab's console, as started by `returns-console serve`.")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--theme")
    parser.add_argument("--read-only", action="store_true")
    parser.add_argument("--presenter", action="store_true")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--demo", action="store_true")
    where.add_argument("--profile", metavar="NAME")
    args = parser.parse_args(argv)

    from . import cli

    obj = {"config_path": args.config, "profile_name": args.profile,
           "read_only": args.read_only, "presenter": args.presenter, "theme": args.theme}
    try:
        session = (cli._demo_session(obj) if args.demo
                   else cli.profile_session(obj, args.profile))
        cli._console(obj, session, presenter=args.presenter)
    except UserError as exc:  # reaches the server's output: textual-serve relays stderr
        print(f"returns-console: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    session_main()
