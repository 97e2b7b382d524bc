"""The command line: `returns-console check`, `demo` and friends.

Every failure a person can cause ends in one line on stderr and exit code 2; nothing here
ever shows a traceback (set RETURNS_CONSOLE_DEBUG=1 to see one while developing).
"""

from __future__ import annotations

import gc
import json
import os
import re
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import click

from . import __version__
from .cli_sessions import deadline_of, load_profile, profile_session
from .domain.codes import Severity
from .domain.memory import gc_paused
from .errors import UserError

SEVERITIES = [s.value for s in Severity]


class SystemChoice(click.ParamType):
    """A system id of one side, checked against the registry when parsed (not at import:
    `--help` stays fast), with the registry's ids as the choices shown."""

    def __init__(self, side: str, *, simulated: bool = False) -> None:
        self.side = side
        self.simulated = simulated
        self.name = side

    def _ids(self) -> list[str]:
        from . import systems
        from .domain.codes import Side

        side = Side(self.side)
        return [s.id for s in systems.all_systems()
                if s.side is side and (s.simulator is not None if self.simulated else True)]

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(self._ids()) + "]"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        text = str(value)
        if text not in self._ids():
            from . import systems

            known = systems.find(text)
            what = (f"{known.name} has no {'simulator' if self.simulated else 'connector'} "
                    "yet" if known is not None and known.side.value == self.side
                    else f"{text!r} is not {'an ERP' if self.side == 'erp' else 'a platform'} "
                    "the console knows")
            self.fail(f"{what} (choose from {', '.join(self._ids())})", param, ctx)
        return text


def _pair_options(command):
    """--platform and --erp for the commands that serve the sandbox (default: the demo pair)."""
    command = click.option("--erp", type=SystemChoice("erp", simulated=True), default=None,
                           help="The ERP to simulate (default: d365_bc).")(command)
    return click.option("--platform", type=SystemChoice("platform", simulated=True),
                        default=None,
                        help="The returns platform to simulate (default: swap).")(command)


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--now {value!r} is not an ISO 8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             invoke_without_command=True)
@click.version_option(__version__, prog_name="returns-console")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Use this config file instead of the usual one (see `locate`).")
@click.option("--profile", "profile_name", metavar="NAME",
              help="Open the console on this profile's live systems (see `setup`).")
@click.option("--read-only", is_flag=True, help="Refuse every write, whatever the profile says.")
@click.option("--presenter", is_flag=True,
              help="Start in presenter mode: customer details masked, no hostnames.")
@click.option("--theme", metavar="NAME", help="returns-dark, returns-light or "
              "returns-high-contrast (default: the config's `theme`).")
@click.option("--deadline", type=click.FloatRange(1, 86_400), default=None, metavar="SECONDS",
              envvar="RETURNS_CONSOLE_DEADLINE",
              help="Give up on a source still reading after this long; it counts as down "
                   "(default 300; also RETURNS_CONSOLE_DEADLINE).")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, profile_name: str | None,
        read_only: bool, presenter: bool, theme: str | None, deadline: float | None) -> None:
    """Reconcile e-commerce returns between a returns platform and an ERP.

    With no command, opens the console on --profile (or the default profile).
    Try `returns-console demo` first: no set-up, no credentials."""
    obj = ctx.ensure_object(dict)
    obj.update(config_path=config_path, profile_name=profile_name, read_only=read_only,
               presenter=presenter, theme=theme, deadline=deadline)
    if ctx.invoked_subcommand is None:
        from .config import load_config
        from .locations import resolve

        if profile_name is None and load_config(
                resolve(config_path).config_file).default_profile is None:
            click.echo(ctx.get_help())
            click.echo("\nNo profile yet: try `returns-console demo`, or create one with "
                       "`returns-console setup`.")
            return
        _console(obj, profile_session(obj, profile_name))


@cli.command()
@click.option("--demo", "use_demo", is_flag=True,
              help="Check the built-in sandbox (started on 127.0.0.1 for the run).")
@click.option("--profile", "profile_name", metavar="NAME",
              help="Check a configured pair of live systems (see `setup`, `profiles`).")
@click.option("--snapshot", "snapshot_path", type=click.Path(path_type=Path),
              help="Check a canonical snapshot file (see README, 'Snapshot format').")
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="table",
              show_default=True, help="json for scripts, table for people.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="critical",
              show_default=True, help="Exit 1 when a finding is at or above this severity.")
@click.option("--now", "now_text", metavar="ISO-TIME",
              help="Reconcile as of this moment instead of the snapshot's as_of or now.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes to reconcile large batches with.")
@click.option("--full", is_flag=True,
              help="Read everything again instead of only what changed since the last sync.")
@click.option("--replay", "replay_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Check what a capture recorded (see `capture`), offline.")
@click.pass_obj
def check(obj: dict, use_demo: bool, profile_name: str | None, snapshot_path: Path | None,
          fmt: str, fail_on: str, now_text: str | None, workers: int, full: bool,
          replay_dir: Path | None) -> None:
    """Find every mismatch and print it. Exit 0: nothing at or above --fail-on;
    1: some (or a source degraded); 2: usage or configuration error; 3: a source is down
    and nothing is cached."""
    if not (use_demo or snapshot_path or replay_dir):  # `--profile X check` means X too
        profile_name = profile_name or obj.get("profile_name")
    _one_source("check", use_demo, profile_name, snapshot_path, replay_dir)
    now = _parse_now(now_text)
    with gc_paused():  # one bulk job from start to exit: see domain/memory.py
        if replay_dir is not None:
            from .services.capture import replay_report

            report = replay_report(replay_dir, now=now, workers=workers)
        else:
            report = _run_check(obj, use_demo, profile_name, snapshot_path, now, workers,
                                full, keyed=True)
        _emit(report, fmt)
        code = report.exit_code(Severity(fail_on))
        # What is left is freed by the exit: a last full collection would walk every
        # object of the check (seconds at 10k returns) to find nothing to free.
        gc.freeze()
    _QUICK_EXIT.append(True)  # nor one by one: see main
    sys.exit(code)


@cli.command()
@click.option("--period", metavar="YYYY-MM|NAME",
              help="The ERP accounting period (default: the one holding today).")
@click.option("--demo", "use_demo", is_flag=True, help="The built-in sandbox.")
@click.option("--profile", "profile_name", metavar="NAME", help="A configured pair.")
@click.option("--snapshot", "snapshot_path", type=click.Path(path_type=Path),
              help="A canonical snapshot file.")
@click.option("--replay", "replay_dir", type=click.Path(path_type=Path, file_okay=False),
              help="A capture (see `capture`).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.option("--now", "now_text", metavar="ISO-TIME", help="Reconcile as of this moment.")
@click.pass_obj
def close(obj: dict, period: str | None, use_demo: bool, profile_name: str | None,
          snapshot_path: Path | None, replay_dir: Path | None, fmt: str,
          now_text: str | None) -> None:
    """Month-end close: what stops an accounting period from closing, and the money in it.
    Exit 0: nothing blocks it; 1: something does (or a source is degraded)."""
    from .services.close import close_csv, close_view

    if not (use_demo or snapshot_path or replay_dir):
        profile_name = profile_name or obj.get("profile_name")
    _one_source("look at", use_demo, profile_name, snapshot_path, replay_dir)
    now = _parse_now(now_text)
    with gc_paused():
        if replay_dir is not None:
            from .services.capture import replay_report

            report = replay_report(replay_dir, now=now)
        else:
            report = _run_check(obj, use_demo, profile_name, snapshot_path, now, 1)
        view = close_view(report, period)
    if fmt == "json":
        click.echo(json.dumps(view.to_json(), indent=2))
    elif fmt == "csv":
        click.echo(close_csv(view), nl=False)
    else:
        from .table_output import print_close

        print_close(view, report)
    degraded = report.platform.degraded or report.erp.degraded
    sys.exit(1 if view.blockers or degraded else 0)


@cli.command()
@click.option("--profile", "profile_name", metavar="NAME",
              help="The profile whose systems to record (default: the default profile).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              required=True, help="Folder to write the capture to.")
@click.pass_obj
def capture(obj: dict, profile_name: str | None, out_dir: Path) -> None:
    """Record what a profile's two systems answer (secrets removed, personal data
    pseudonymised) for `check --replay` / `open --replay`: attach it to a ticket, demo a
    client's data offline, keep it as a regression case."""
    from .connectors.loop import run as run_loop
    from .services.capture import capture_profile
    from .services.connections import store_lookup
    from .services.mappings import load_mappings

    profile = load_profile(obj, profile_name or obj.get("profile_name"))
    if out_dir.exists() and any(out_dir.iterdir()):
        raise UserError(f"{out_dir} is not empty; choose a new folder for the capture")
    mappings = load_mappings(obj, profile.name).model_dump(mode="json")
    kept = run_loop(capture_profile(profile, store_lookup(profile), out_dir, mappings))
    click.echo(f"captured {kept} exchanges of profile {profile.name} in {out_dir} "
               "(secrets removed, names, addresses, emails and phone numbers pseudonymised)")
    click.echo(f"  returns-console check --replay {out_dir}")


def _one_source(verb: str, use_demo: bool, profile_name: str | None,
                snapshot_path: Path | None, replay_dir: Path | None) -> None:
    """Exactly one of --demo, --profile, --snapshot, --replay."""
    chosen = [flag for flag, on in (("--demo", use_demo), ("--profile", profile_name),
                                    ("--snapshot", snapshot_path), ("--replay", replay_dir))
              if on]
    if len(chosen) != 1:
        raise UserError(f"say what to {verb}: --demo, --profile NAME, --snapshot FILE or "
                        "--replay DIR" if not chosen else f"choose one of {', '.join(chosen)}")


def _run_check(obj: dict, use_demo: bool, profile_name: str | None,
               snapshot_path: Path | None, now, workers: int, full: bool = False,
               keyed: bool = False):
    if snapshot_path is not None:
        from .services.check import check_snapshot
        from .services.snapshot_io import load_snapshot

        report = check_snapshot(load_snapshot(snapshot_path), now=now, workers=workers)
    elif use_demo:
        from .services.demo import run_demo_check

        with _cache(obj) as cache:
            report, _ = run_demo_check(now=now, cache=cache, workers=workers)
    else:
        report = _check_profile(obj, profile_name, now, workers, full, keyed)
    return report


class _cache:
    """The local cache, opened for one command and closed after."""

    def __init__(self, obj: dict) -> None:
        self.obj = obj

    def __enter__(self):
        from .locations import resolve
        from .store.cache import Cache

        try:
            self.cache = Cache(resolve(self.obj.get("config_path")).cache_db)
        except OSError as exc:
            raise UserError(f"cannot open the local cache: {exc}") from None
        return self.cache

    def __exit__(self, *exc: object) -> None:
        for warning in self.cache.close():
            click.echo(f"returns-console: warning: {warning}", err=True)


class Progress:
    """While a command waits on the systems: a line on stderr every few seconds saying
    what it does and for how long, when stderr is a terminal (cron and pipes get none)."""

    def __init__(self, what: str, every: float = 3.0) -> None:
        import threading

        self.what, self.every = what, every
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)

    def __enter__(self) -> Progress:
        if sys.stderr.isatty():
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()

    def _run(self) -> None:
        import time

        began = time.monotonic()
        while not self._done.wait(self.every):
            sys.stderr.write(f"\r\x1b[K{self.what}… {time.monotonic() - began:.0f} s")
            sys.stderr.flush()


def _check_profile(obj: dict, name: str | None, now, workers: int, full: bool = False,
                   keyed: bool = False):
    """`keyed`: through the record index (services/keyed_check.py): only `check`; the
    others need every return's records, not only its findings."""
    from .locations import resolve
    from .services.connections import store_lookup
    from .services.keyed_check import check_profile
    from .services.mappings import load_mappings
    from .services.platform_read import inbox_for

    profile = load_profile(obj, name)
    inbox = inbox_for(profile.platform.system, resolve(obj.get("config_path")).inbox_db,
                      profile.erp.system)
    what = f"reading {profile.platform.system} and {profile.erp.system}"
    with _cache(obj) as cache:
        return check_profile(profile, store_lookup(profile), cache,
                             load_mappings(obj, profile.name), now=now,
                             deadline=deadline_of(obj), workers=workers, full=full,
                             inbox=inbox, keyed=keyed, reading=lambda: Progress(what))


_READ_ONLY = click.option("--read-only", "read_only_here", is_flag=True,
                          help="Refuse every write in this session.")
_PRESENTER = click.option("--presenter", "presenter_here", is_flag=True,
                          help="Start in presenter mode (customer details masked).")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default=None,
              help="Print the findings instead of opening the console (the default when "
                   "the output is not a terminal: table).")
@_pair_options
@_READ_ONLY
@_PRESENTER
@click.pass_obj
def demo(obj: dict, fmt: str | None, platform: str | None, erp: str | None,
         read_only_here: bool, presenter_here: bool) -> None:
    """Open the console on the built-in demo: a platform simulator and an ERP simulator
    (Swap Commerce and Business Central unless --platform/--erp say otherwise) served on
    127.0.0.1, read through the real connectors over HTTP."""
    if fmt is None and not (sys.stdin.isatty() and sys.stdout.isatty()):
        fmt = "table"
    if fmt is not None:
        from .services.demo import run_demo_check

        report, _ = run_demo_check(platform=platform, erp=erp)
        _emit(report, fmt)
        return
    _console(obj, _demo_session(obj, read_only_here, platform=platform, erp=erp),
             presenter=presenter_here)


@cli.command(name="open")
@click.argument("ref")
@click.option("--demo", "use_demo", is_flag=True, help="Look in the built-in demo.")
@click.option("--snapshot", "snapshot_path", type=click.Path(path_type=Path),
              help="Look in a canonical snapshot file.")
@click.option("--replay", "replay_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Look in a capture (see `capture`), offline.")
@_READ_ONLY
@_PRESENTER
@click.pass_obj
def open_return(obj: dict, ref: str, use_demo: bool, snapshot_path: Path | None,
                replay_dir: Path | None, read_only_here: bool, presenter_here: bool) -> None:
    """Open the console straight on one return, by its return ref or its order number
    (on --profile, the default profile, --demo, --snapshot or --replay)."""
    if use_demo:
        session = _demo_session(obj, read_only_here)
    elif replay_dir is not None:
        session = _replay_session(replay_dir)
    elif snapshot_path is not None:
        session = _snapshot_session(snapshot_path)
    else:
        session = profile_session(obj, obj.get("profile_name"), read_only_here)
    _console(obj, session, open_ref=ref, presenter=presenter_here)


@cli.command(hidden=True)
@click.option("--snapshot", "snapshot_path", type=click.Path(path_type=Path), required=True,
              help="Open on a canonical snapshot file.")
@click.option("--now", "now_text", metavar="ISO-TIME", help="Reconcile as of this moment.")
@click.pass_obj
def ui(obj: dict, snapshot_path: Path, now_text: str | None) -> None:
    """The console on a snapshot file (for development and screenshots)."""
    _console(obj, _snapshot_session(snapshot_path, _parse_now(now_text)))


def _demo_session(obj: dict, read_only: bool = False, *, platform: str | None = None,
                  erp: str | None = None):
    from .locations import resolve
    from .services.session import DemoSession

    return DemoSession(resolve(obj.get("config_path")).cache_db,
                       read_only=read_only or obj.get("read_only", False),
                       platform=platform, erp=erp)


def _snapshot_session(path: Path, now: datetime | None = None):
    from .services.check import check_snapshot
    from .services.session import ReportSession
    from .services.snapshot_io import load_snapshot

    snapshot = load_snapshot(path)
    return ReportSession(lambda: check_snapshot(snapshot, now=now), label=path.name,
                         environment="demo", read_only=True, where=f"snapshot {path.name}",
                         mappings=snapshot.mappings, master=snapshot.erp_master,
                         systems=f"{snapshot.platform.system}|{snapshot.erp.system}")


def _replay_session(folder: Path):
    from .services.capture import read_capture, replay_report
    from .services.session import ReportSession

    capture = read_capture(folder)  # a folder that is no capture says so before the console
    profile = capture.profile
    return ReportSession(lambda: replay_report(folder), label=f"replay {folder.name}",
                         environment="demo", read_only=True, where=f"capture {folder.name}",
                         systems=f"{profile.platform.system}|{profile.erp.system}")


def _console(obj: dict, session, *, open_ref: str | None = None,
             presenter: bool = False) -> None:
    """Run the console on a session; the session is closed whatever happens."""
    from .config import load_config
    from .locations import resolve
    from .services.ui_state import FILE_NAME
    from .tui.app import ReturnsConsole

    try:
        places = resolve(obj.get("config_path"))
        config = load_config(places.config_file)

        def make_actions():
            """The actions, the audit log and triage: made when the console first uses
            them (after its first frame), not before it (the keyring, two databases)."""
            from .secrets import audit_key
            from .services.actions import Actions, operator_name

            return Actions(session, audit_path=places.audit_db, triage_path=places.triage_db,
                           operator=operator_name(config.operator), audit_key=audit_key(),
                           witness=places.audit_witness)

        session.keeps_heap = True  # this process is the console's: domain/memory.py
        app = ReturnsConsole(session, theme=obj.get("theme") or config.theme,
                             presenter=presenter or obj.get("presenter", False),
                             keymap=config.keymap, open_ref=open_ref,
                             state_path=places.data_dir / FILE_NAME, make_actions=make_actions)
        app.run()
    finally:
        session.close()
    if app.return_code:
        sys.exit(app.return_code)


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: a free one).")
@click.option("--returns", "count", type=click.IntRange(27, 1_000_000), default=None,
              help="How many returns (default: fixtures/demo/scenario.json, 90).")
@click.option("--seed", type=int, default=None, help="Default: the demo scenario's.")
@click.option("--now", "now_text", metavar="ISO-TIME", help="The scenario's clock (default: now).")
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of requests answered 503.")
@click.option("--rate-limit", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of requests answered 429 with Retry-After.")
@click.option("--retry-after", type=click.FloatRange(0, 600), default=1.0, show_default=True)
@click.option("--latency-ms", type=click.FloatRange(0, 60_000), default=0.0, show_default=True)
@click.option("--no-malformed", is_flag=True, help="Leave out the planted malformed records.")
@click.option("--truth", "truth_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the ground truth of the planted findings to this file.")
@click.option("--profile", "profile_name", metavar="NAME", default="sandbox", show_default=True,
              help="The profile to prepare for it: its mapping tables get the demo company's.")
@click.option("--push-to", metavar="URL", default="http://127.0.0.1:8787", show_default=True,
              help="Where a platform that pushes (webhooks) sends its deliveries: the "
                   "address `returns-console listen` serves.")
@_pair_options
@click.pass_obj
def sandbox(obj: dict, port: int, count: int, seed: int, now_text: str | None,
            error_rate: float, rate_limit: float, retry_after: float, latency_ms: float,
            no_malformed: bool, truth_path: Path | None, profile_name: str, push_to: str,
            platform: str | None, erp: str | None) -> None:
    """Serve a platform simulator and an ERP simulator (Swap Commerce and Business Central
    unless --platform/--erp say otherwise) on 127.0.0.1 until Ctrl-C."""
    import time

    from . import systems
    from .sandbox.demo import build_sandbox
    from .sandbox.faults import Faults
    from .sandbox.server import BackgroundServer

    now = _parse_now(now_text) or datetime.now(UTC).replace(microsecond=0)
    faults = Faults(error_rate=error_rate, rate_limit_rate=rate_limit, retry_after=retry_after,
                    latency_ms=latency_ms, seed=seed or 0)
    box = build_sandbox(now, returns=count, seed=seed, faults=faults, malformed=not no_malformed,
                        platform=platform, erp=erp)
    if truth_path is not None:
        try:
            truth_path.write_text(json.dumps(box.truth, indent=1) + "\n")
        except OSError as exc:
            raise UserError(f"cannot write {truth_path}: {exc.strerror or exc}") from None
    from .services.demo import demo_mappings
    from .services.mappings import save_mappings

    save_mappings(obj, profile_name, demo_mappings(box))
    try:
        server = BackgroundServer(box.app(), port=port).start()
    except OSError as exc:
        raise UserError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    profile = box.profile(server.url)
    from .secrets import env_var_name

    served = len(box.scenario.snapshot["returns"])
    click.echo(f"Sandbox serving {served} returns ({len(box.truth)} planted exceptions) on "
               f"{server.url}")
    for settings in (profile.platform, profile.erp):
        click.echo(f"  {systems.display_name(settings.system):<34} {settings.base_url}")
    click.echo(f"  {'what is served':<34} {server.url}/_sandbox")
    click.echo("Point a profile at it (the sandbox's credentials are public demo values):")

    def flags(flag: str, options: dict) -> str:
        return " ".join(shlex.quote(f"{flag}={k}={v}") if " " in str(v)
                        else f"{flag} {k}={v}" for k, v in options.items())

    click.echo(
        f"  returns-console setup --profile {profile_name} "
        f"--platform {profile.platform.system} --platform-url {profile.platform.base_url} "
        f"{flags('--platform-option', profile.platform.options)} "
        f"--erp {profile.erp.system} --erp-url "
        f"{push_to.rstrip('/') if _sandbox_channel(box, push_to) else profile.erp.base_url} "
        f"{flags('--erp-option', profile.erp.options)}")
    for _system, name, value in box.credentials():
        click.echo(f"  {export_line(env_var_name(profile_name, name), value)}")
    click.echo(f"  returns-console doctor --profile {profile_name} && "
               f"returns-console check --profile {profile_name}")
    hook = _sandbox_hook(box, profile, push_to)
    if hook:
        click.echo(f"  returns-console listen --profile {profile_name}   (the sandbox posts "
                   f"{systems.display_name(box.platform_id)}'s deliveries to {hook} every "
                   "5 s)")
    from .sandbox.hosted import ChannelClient, PushingSystem
    from .sandbox.push import post_deliveries

    channel = _sandbox_channel(box, push_to)
    if channel:
        click.echo(f"  returns-console listen --profile {profile_name}   (the simulated "
                   f"{systems.display_name(box.erp_id)} calls the channel at {channel} every "
                   "5 s; give the profile --erp-url "
                   f"{push_to.rstrip('/')}, the address its configuration names)")
    click.echo("Ctrl-C to stop.")
    pusher = box.platform if hook and isinstance(box.platform, PushingSystem) else None
    caller = box.erp if channel and isinstance(box.erp, ChannelClient) else None
    sent = 0
    try:
        while True:
            if pusher is not None and hook:
                sent += post_deliveries(pusher, hook, sent)
            if caller is not None and channel:
                caller.cycle(channel)
            time.sleep(5 if pusher is not None or caller is not None else 3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        click.echo("sandbox stopped")


def export_line(variable: str, value: str) -> str:
    """A shell line that sets `variable` to `value` when pasted, whatever the value holds (a
    certificate's private key spans lines: unquoted, the shell would run its lines)."""
    return f"export {variable}={shlex.quote(value)}"


def _sandbox_channel(box, push_to: str) -> str | None:
    """The configuration address a sandbox ERP that calls us fetches (at `listen`)."""
    from .services.platform_read import reads_inbox

    if not reads_inbox(box.erp_id):
        return None
    return f"{push_to.rstrip('/')}/hooks/{box.erp_id}/config.json"


def _sandbox_hook(box, profile, push_to: str) -> str | None:
    """Where the sandbox's platform posts its deliveries, when it pushes."""
    from .connectors.loop import run as run_loop
    from .services.listen import webhook_specs
    from .services.platform_read import takes_deliveries

    if not takes_deliveries(box.platform_id):
        return None
    specs = run_loop(webhook_specs(profile, box.secret))
    suffix = specs[box.platform_id].suffix.strip("/")
    return f"{push_to.rstrip('/')}/hooks/{box.platform_id}/{suffix}"


@cli.command()
@click.option("--profile", "profile_name", metavar="NAME",
              help="The profile whose systems push to us (default: the default profile).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on (put an HTTPS proxy in front to receive from the "
                   "internet; 0.0.0.0 for every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8787, show_default=True)
@click.pass_obj
def listen(obj: dict, profile_name: str | None, host: str, port: int) -> None:
    """Receive the events a profile's systems push (webhooks), verify each delivery's
    signature and keep it once in the inbox, which `check` and the console read. Runs
    until Ctrl-C; run it as a service where systems push returns instead of listing them."""
    import time

    from .connectors.loop import run as run_loop
    from .locations import resolve
    from .sandbox.server import BackgroundServer
    from .services.connections import store_lookup
    from .services.listen import listen_app
    from .store.inbox import Inbox

    profile = load_profile(obj, profile_name or obj.get("profile_name"))
    inbox_path = resolve(obj.get("config_path")).inbox_db
    from .services.mappings import load_mappings

    # the returns feed of an ERP that calls us offers SKUs and reasons as mapped
    app, paths = run_loop(listen_app(profile, store_lookup(profile), Inbox(inbox_path),
                                     mappings=lambda: load_mappings(obj, profile.name)))
    try:
        server = BackgroundServer(app, host=host, port=port).start()
    except OSError as exc:
        raise UserError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"Listening on {server.url}, keeping deliveries in {inbox_path}")
    from . import systems

    for system, path in paths.items():
        click.echo(f"  register with {systems.display_name(system)}: "
                   f"https://<your proxy>{path}  (served here as {server.url}{path})")
    click.echo("Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        click.echo("stopped listening")


@cli.command()
@click.option("--profile", "profile_name", metavar="NAME",
              help="The profile to try (default: the default profile).")
@click.pass_obj
def doctor(obj: dict, profile_name: str | None) -> None:
    """Try each connection of a profile and say what works and what does not."""
    from .connectors.loop import run as run_loop
    from .locations import resolve
    from .services.connections import store_lookup
    from .services.doctor import diagnose
    from .services.platform_read import inbox_for

    profile = load_profile(obj, profile_name or obj.get("profile_name"))
    inbox = inbox_for(profile.platform.system, resolve(obj.get("config_path")).inbox_db,
                      profile.erp.system)
    with Progress(f"trying {profile.platform.system} and {profile.erp.system}"):
        results = run_loop(diagnose(profile, store_lookup(profile),
                                    deadline=deadline_of(obj), inbox=inbox))
    ok = True
    for line in results:
        click.echo(f"{'ok  ' if line.ok else 'FAIL'}  {line.what}: {line.detail}")
        ok = ok and line.ok
    sys.exit(0 if ok else 1)


@cli.command()
@click.option("--now", "now_text", metavar="ISO-TIME", help="The scenario's clock (default: now).")
@click.option("--returns", "count", type=click.IntRange(27, 1_000_000), default=90,
              show_default=True, help="How many returns (27 or more plants every code).")
@click.option("--healthy-share", type=click.FloatRange(0, 1), default=0.7, show_default=True)
@click.option("--seed", type=int, default=20261121, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder to write scenario.json and scenario.truth.json to.")
@click.option("--native", is_flag=True,
              help="Write the demo sandbox's data in each API's own JSON instead.")
def scenario(now_text: str | None, count: int, healthy_share: float, seed: int,
             out_dir: Path, native: bool) -> None:
    """Write the demo scenario as a canonical snapshot plus the ground truth of what it
    plants, for `check --snapshot` and for tests (or, with --native, as the sandbox serves
    it: Swap Commerce returns and Business Central entity sets)."""
    from .scenarios.catalogue import build_scenario

    now = _parse_now(now_text) or datetime.now(UTC).replace(microsecond=0)
    if native:
        _write_native(now, out_dir)
        return
    built = build_scenario(now, returns=count, healthy_share=healthy_share, seed=seed)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "scenario.json").write_text(json.dumps(built.snapshot, indent=1) + "\n")
        (out_dir / "scenario.truth.json").write_text(json.dumps(built.truth, indent=1) + "\n")
    except OSError as exc:
        raise UserError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    click.echo(f"wrote {count} returns ({len(built.truth)} planted exceptions) to {out_dir}")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="table",
              show_default=True, help="json for scripts, table for people (name: path).")
@click.pass_obj
def locate(obj: dict, fmt: str) -> None:
    """Print every file and folder the app uses: config, data, cache, audit log, logs."""
    from .locations import all_paths

    paths = all_paths(obj.get("config_path"))
    if fmt == "json":
        click.echo(json.dumps({name: str(path) for name, path in paths.items()}, indent=2))
    else:
        for name, path in paths.items():
            click.echo(f"{name}: {path}")


class _WithSystemOptions(click.Command):
    """`setup --help` ends with each system's options and secrets, from the registry."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from . import systems

        for spec in systems.all_systems():
            if not spec.built:
                continue
            flag = "--platform-option" if spec.side.value == "platform" else "--erp-option"
            with formatter.section(f"{spec.name} ({spec.id}, {spec.side_word}), "
                                   f"{flag} KEY=VALUE"):
                formatter.write_dl([
                    (name, f"{text} [{f'default: {default}' if default else 'required'}]")
                    for name, default, text in spec.option_help()])
                formatter.write_paragraph()
                formatter.write_text("secrets (--secret NAME): " + _secrets_help(spec))
        planned = [s.name for s in systems.all_systems() if not s.built]
        if planned:
            with formatter.section("Not built yet"):
                formatter.write_text(", ".join(planned))


def _secrets_help(spec: Any) -> str:
    """A system's secrets for `setup --help`: each way it authenticates, then listen's."""
    text = ", ".join(spec.secrets)
    if spec.auth_option:
        default = spec.options.model_fields[spec.auth_option].default
        text += f" ({spec.auth_option}={default})" + "".join(
            f"; {', '.join(names)} ({spec.auth_option}={value})"
            for value, names in spec.auth_secrets.items() if value != default)
    if spec.listen_secrets:
        text += f"; for listen only: {', '.join(spec.listen_secrets)}"
    return text


@cli.command(cls=_WithSystemOptions)
@click.option("--profile", "name", metavar="NAME", required=True,
              help="Profile to create or update.")
@click.option("--platform", type=SystemChoice("platform"), help="Returns platform.")
@click.option("--platform-url", metavar="URL", help="The platform's API base URL.")
@click.option("--erp", type=SystemChoice("erp"), help="ERP.")
@click.option("--erp-url", metavar="URL", help="The ERP's API base URL.")
@click.option("--platform-option", "platform_options", metavar="KEY=VALUE", multiple=True,
              help="Non-secret platform setting (store id, environment ...); KEY= removes it.")
@click.option("--erp-option", "erp_options", metavar="KEY=VALUE", multiple=True,
              help="Non-secret ERP setting (tenant, company id, token_url ...); KEY= removes it.")
@click.option("--secret", "secrets", metavar="NAME", multiple=True,
              help="Ask for this secret (hidden input) and keep it in the OS keyring.")
@click.option("--secret-stdin", "stdin_secrets", metavar="NAME", multiple=True,
              help="Read this secret from stdin (one line each, in order), for scripts.")
@click.option("--default", "make_default", is_flag=True, help="Make this the default profile.")
@click.pass_obj
def setup(obj: dict, name: str, platform: str | None, platform_url: str | None,
          erp: str | None, erp_url: str | None, platform_options: tuple[str, ...],
          erp_options: tuple[str, ...], secrets: tuple[str, ...],
          stdin_secrets: tuple[str, ...], make_default: bool) -> None:
    """Create or update a profile without questions (except hidden secret prompts).
    Settings go to the config file; secrets go to the OS keyring, never to the file."""
    from .config import load_config, save_config
    from .locations import resolve
    from .secrets import ENVIRONMENT, KEYRING, SecretStore
    from .services.profiles import (
        check_secret_names,
        describe_profiles,
        parse_options,
        secret_hint,
        upsert_profile,
    )

    path = resolve(obj.get("config_path")).config_file
    config, created = upsert_profile(
        load_config(path), name, platform=platform, platform_url=platform_url, erp=erp,
        erp_url=erp_url, platform_options=parse_options(platform_options, "--platform-option"),
        erp_options=parse_options(erp_options, "--erp-option"), make_default=make_default)
    profile = config.profiles[name]
    check_secret_names(profile, [*stdin_secrets, *secrets])
    values = {secret: _secret_from_stdin(secret) for secret in stdin_secrets}
    values |= {secret: _secret_from_prompt(name, secret) for secret in secrets}
    store = SecretStore()
    for secret, value in values.items():
        store.set(name, secret, value)
    save_config(config, path)
    verb = "created" if created else "updated"
    click.echo(f"{verb} profile {name} ({profile.platform.system} -> {profile.erp.system}) "
               f"in {path}")
    if config.default_profile == name:
        click.echo(f"default profile: {name}")
    for secret in values:
        click.echo(f"stored {secret} in the OS keyring")
    for row in describe_profiles(config, store, only=name)[0]["secrets"]:
        if row["source"] == ENVIRONMENT and row["name"] in values:
            click.echo(f"note: {row['env_var']} is set and overrides the keyring")
        elif row["source"] not in (KEYRING, ENVIRONMENT):
            label = "still needed" if row.get("needed_by") != "listen" else "optional"
            click.echo(f"{label}: {row['name']}: {secret_hint(name, row)}")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="table",
              show_default=True)
@click.pass_obj
def profiles(obj: dict, fmt: str) -> None:
    """List profiles and where each needed secret comes from (never the secret itself)."""
    from .config import load_config
    from .locations import resolve
    from .secrets import SecretStore
    from .services.profiles import describe_profiles, secret_hint

    path = resolve(obj.get("config_path")).config_file
    config = load_config(path)
    rows = describe_profiles(config, SecretStore())
    if fmt == "json":
        document = {"config_file": str(path), "default_profile": config.default_profile,
                    "profiles": rows}
        click.echo(json.dumps(document, indent=2))
        return
    if not rows:
        click.echo(f"no profiles in {path}: create one with "
                   "`returns-console setup --profile NAME --platform ... --erp ...`")
        return
    for row in rows:
        flags = "".join([" (default)" if row["default"] else "",
                         " read-only" if row["read_only"] else ""])
        click.echo(f"{row['name']}{flags}: {row['platform']['system']} "
                   f"{row['platform']['base_url']} -> {row['erp']['system']} "
                   f"{row['erp']['base_url']}")
        for secret in row["secrets"]:
            click.echo(f"  {secret['name']} ({secret['system']}): "
                       f"{secret_hint(row['name'], secret)}")


def _secret_from_stdin(name: str) -> str:
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise UserError(f"--secret-stdin {name}: no value on stdin (one line per secret)")
    return value


def _secret_from_prompt(profile: str, name: str) -> str:
    if not sys.stdin.isatty():
        from .secrets import env_var_name

        raise UserError(f"--secret {name}: no terminal to ask on; use --secret-stdin {name} "
                        f"or set {env_var_name(profile, name)}")
    value = click.prompt(f"{name} for {profile}", hide_input=True, default="",
                         show_default=False)
    if not value:
        raise UserError(f"--secret {name}: nothing entered, nothing stored")
    return value


def _write_native(now: datetime, out_dir: Path) -> None:
    from .sandbox.demo import build_sandbox

    box = build_sandbox(now)
    files = {
        f"{box.platform_id}.json": box.platform.native(),
        f"{box.erp_id}.json": box.erp.native(),
        "truth.json": box.truth,
    }
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (out_dir / name).write_text(json.dumps(data, indent=1, default=str) + "\n")
    except OSError as exc:
        raise UserError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    click.echo(f"wrote the demo sandbox's data as of {now.isoformat()} to {out_dir}")


@cli.group(name="audit")
def audit_group() -> None:
    """The audit log of operator actions: check that no row was changed or removed since it
    was written, or export it for an auditor."""


@audit_group.command(name="head")
@click.pass_obj
def audit_head(obj: dict) -> None:
    """Print the last row's number and hash (`SEQ:HASH`). Keep it somewhere this machine's
    users cannot write (a ticket, a mail, another system): `audit verify --head` then
    proves that no row up to it was changed, removed or chained anew since."""
    import sqlite3

    from .locations import resolve
    from .store.audit import AuditLog

    path = resolve(obj.get("config_path")).audit_db
    if not path.exists():
        raise UserError(f"no audit log at {path}")
    try:
        with AuditLog(path) as log:
            head = log.head()
    except (sqlite3.Error, OSError) as exc:
        raise UserError(f"cannot read the audit log at {path}: {exc}") from None
    click.echo(f"{head[0]}:{head[1]}" if head else "0:empty")


@audit_group.command(name="verify")
@click.option("--head", "head_text", metavar="SEQ:HASH",
              help="A head printed earlier by `audit head` and kept elsewhere: row SEQ must "
                   "still be there with that hash.")
@click.pass_obj
def audit_verify(obj: dict, head_text: str | None) -> None:
    """Recompute the audit log's hash chain. Exit 0: intact; 1: rows were changed or
    removed (one line per problem)."""
    import sqlite3

    from .locations import resolve
    from .secrets import audit_key
    from .store.audit import AuditLog, verify_file

    kept = _kept_head(head_text) if head_text else None
    places = resolve(obj.get("config_path"))
    path = places.audit_db
    try:
        key = audit_key(create=False)
        result = verify_file(path, key)
        pending = AuditLog(path).open_pending() if result is not None and result.ok else []
        found = AuditLog(path).hash_of(kept[0]) if kept and result is not None else None
    except (sqlite3.Error, OSError) as exc:
        raise UserError(f"cannot read the audit log at {path}: {exc}") from None
    if result is None:
        if kept:
            click.echo(f"the audit log at {path} is missing, but a head of row {kept[0]} was "
                       "kept (deleted?)")
            sys.exit(1)
        if places.audit_witness.exists():
            click.echo(f"the audit log at {path} is missing, but this machine has kept one "
                       f"(so says {places.audit_witness}): deleted?")
            sys.exit(1)
        click.echo(f"no audit log yet at {path}")
        return
    problems = list(result.problems)
    if kept and found is None:
        problems.append(f"row {kept[0]} of the kept head is not in the log (truncated?)")
    elif kept and found != kept[1]:
        problems.append(f"row {kept[0]} no longer has the kept head's hash: the log was "
                        "rewritten up to it")
    if problems:
        for problem in problems:
            click.echo(problem)
        sys.exit(1)
    click.echo(f"audit log OK: {result.rows} rows, chain intact")
    if key is None:
        click.echo("note: no audit key here (RETURNS_CONSOLE_AUDIT_KEY or the OS keyring): "
                   "keyed rows were not checked, and unkeyed ones only prove their chain; "
                   "keep `audit head` elsewhere (README: Security)")
    if pending:
        rows = ", ".join(str(e.seq) for e in pending)
        click.echo(f"note: {len(pending)} action{'s' if len(pending) > 1 else ''} started "
                   f"with no outcome recorded yet (row{'s' if len(pending) > 1 else ''} {rows})")


def _kept_head(text: str) -> tuple[int, str]:
    seq, _, digest = text.strip().partition(":")
    if not seq.isdigit() or not re.fullmatch(r"(k1:)?[0-9a-f]{64}", digest):
        raise UserError(f"--head {text!r}: write it as `audit head` prints it, SEQ:HASH")
    return int(seq), digest


@audit_group.command(name="export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True, help="csv (a header row, JSON columns as text) or json "
              "(a list of objects).")
@click.option("--since", "since_text", metavar="ISO-DATE-OR-TIME",
              help="Only rows from this moment on; a date alone means its 00:00 UTC.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")
@click.pass_obj
def audit_export(obj: dict, fmt: Literal["csv", "json"], since_text: str | None,
                 out_path: Path | None) -> None:
    """Print every column of the audit log, hashes included, oldest first."""
    import sqlite3

    from .locations import resolve
    from .store.audit import AuditLog, export_rows

    since = _parse_since(since_text)
    path = resolve(obj.get("config_path")).audit_db
    try:
        entries = AuditLog(path).entries(since=since) if path.exists() else []
    except (sqlite3.Error, OSError) as exc:
        raise UserError(f"cannot read the audit log at {path}: {exc}") from None
    text = export_rows(entries, fmt)
    if out_path is None:
        click.echo(text, nl=False)
        return
    try:
        out_path.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise UserError(f"cannot write {out_path}: {exc.strerror or exc}") from None
    click.echo(f"wrote {len(entries)} audit rows to {out_path}")


def _parse_since(value: str | None) -> datetime | None:
    """`--since`: a date (its midnight UTC) or a date-time; without a zone, UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--since {value!r} is not an ISO 8601 date or date-time "
                        "(e.g. 2026-11-01 or 2026-11-01T09:30:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@cli.command()
@click.option("--demo", "use_demo", is_flag=True, help="Serve the console on the built-in demo.")
@click.option("--profile", "profile_name", metavar="NAME",
              help="Serve the console on this profile's live systems (default: the default "
                   "profile).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: a free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; another than loopback shares the console on the "
                   "network.")
@click.option("--no-presenter", is_flag=True,
              help="Show customer details (presenter mode is on by default).")
@click.pass_obj
def serve(obj: dict, use_demo: bool, profile_name: str | None, port: int, host: str,
          no_presenter: bool) -> None:
    """Serve the console in a web browser until Ctrl-C, in presenter mode: each browser tab
    gets its own console (with textual-serve)."""
    from .serve import serve_console

    serve_console(obj, use_demo=use_demo, profile_name=profile_name, host=host, port=port,
                  presenter=not no_presenter)


def _register_act() -> None:
    from .cli_act import act

    cli.add_command(act)


_register_act()


def _emit(report, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(report_json(report.to_json()))
    else:
        from .table_output import render_table

        render_table(report)


def report_json(data: dict) -> str:
    """The report as indented JSON, each finding on a line of its own: readable, easy to
    grep and diff, and written in one go by the C encoder (indenting every field of ten
    thousand findings takes the pure-Python one, seconds). ASCII only, as before: no
    byte of it can be a terminal control code."""
    compact = json.JSONEncoder(separators=(", ", ": ")).encode
    lines = ["{"]
    keys = list(data)
    for n, key in enumerate(keys):
        value = data[key]
        end = "," if n < len(keys) - 1 else ""
        if isinstance(value, list) and value:
            items = ",\n".join(f"    {compact(item)}" for item in value)
            lines.append(f"  {compact(key)}: [\n{items}\n  ]{end}")
        elif isinstance(value, dict) and value:
            body = json.dumps(value, indent=2).replace("\n", "\n  ")
            lines.append(f"  {compact(key)}: {body}{end}")
        else:
            lines.append(f"  {compact(key)}: {compact(value)}{end}")
    lines.append("}\n")
    return "\n".join(lines)


#: Set by a command whose process has nothing left to do but free its objects.
_QUICK_EXIT: list[bool] = []


def _exit_at_once(code: object) -> None:
    """End the process without freeing a check's objects one by one on the way out (70 ms
    at 10,000 returns, after the output), where nothing else runs that an exit would
    wait for: its output flushed, its log closed, no other thread."""
    if not _QUICK_EXIT:
        return
    import logging
    import threading

    if threading.active_count() != 1:
        return
    try:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: the usual exit says so
        return
    os._exit(code if isinstance(code, int) else 1 if code else 0)


def main(argv: list[str] | None = None) -> None:
    """Entry point: turns every error into one line and an exit code."""
    try:
        cli.main(args=argv, prog_name="returns-console", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("returns-console: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        # Usage errors: say what was wrong and how to get help (exit 2).
        click.echo(f"returns-console: {exc.format_message()}", err=True)
        click.echo("Try 'returns-console --help'.", err=True)
        sys.exit(2)
    except UserError as exc:
        click.echo(f"returns-console: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:  # last line of defence: never a traceback in a person's face
        if os.environ.get("RETURNS_CONSOLE_DEBUG"):
            raise
        click.echo(f"returns-console: unexpected error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)


def entry() -> None:
    """The process's entry point (the `returns-console` script, `python -m`): `main`,
    then an exit that frees nothing where a command left nothing else to do."""
    try:
        main()
    except SystemExit as done:
        _exit_at_once(done.code)
        raise


if __name__ == "__main__":
    entry()
