"""The command line: `returns-console check`, `demo` and friends.

Every failure a person can cause ends in one line on stderr and exit code 2; nothing here
ever shows a traceback (set RETURNS_CONSOLE_DEBUG=1 to see one while developing).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from . import __version__
from .domain.codes import Severity
from .errors import UserError

SEVERITIES = [s.value for s in Severity]


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--now {value!r} is not an ISO 8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="returns-console")
def cli() -> None:
    """Reconcile e-commerce returns between a returns platform and an ERP."""


@cli.command()
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
def check(snapshot_path: Path | None, fmt: str, fail_on: str, now_text: str | None,
          workers: int) -> None:
    """Find every mismatch and print it. Exit 0: nothing at or above --fail-on;
    1: some; 2: usage or configuration error; 3: a source is down and nothing is cached."""
    from .services.check import check_snapshot
    from .services.snapshot_io import load_snapshot

    if snapshot_path is None:
        raise UserError("say what to check: --snapshot FILE")
    snapshot = load_snapshot(snapshot_path)
    report = check_snapshot(snapshot, now=_parse_now(now_text), workers=workers)
    _emit(report, fmt)
    sys.exit(report.exit_code(Severity(fail_on)))


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="table",
              show_default=True)
def demo(fmt: str) -> None:
    """Show the built-in demo: healthy returns with every exception code planted."""
    from .domain.snapshot import Snapshot
    from .scenarios.catalogue import build_scenario
    from .services.check import check_snapshot

    now = datetime.now(UTC).replace(microsecond=0)
    snapshot = Snapshot.model_validate(build_scenario(now).snapshot)
    _emit(check_snapshot(snapshot, now=now), fmt)


@cli.command()
@click.option("--now", "now_text", metavar="ISO-TIME", help="The scenario's clock (default: now).")
@click.option("--returns", "count", type=click.IntRange(27, 1_000_000), default=90,
              show_default=True, help="How many returns (27 or more plants every code).")
@click.option("--healthy-share", type=click.FloatRange(0, 1), default=0.7, show_default=True)
@click.option("--seed", type=int, default=20261121, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder to write scenario.json and scenario.truth.json to.")
def scenario(now_text: str | None, count: int, healthy_share: float, seed: int,
             out_dir: Path) -> None:
    """Write the demo scenario as a canonical snapshot plus the ground truth of what it
    plants, for `check --snapshot` and for tests."""
    from .scenarios.catalogue import build_scenario

    now = _parse_now(now_text) or datetime.now(UTC).replace(microsecond=0)
    built = build_scenario(now, returns=count, healthy_share=healthy_share, seed=seed)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "scenario.json").write_text(json.dumps(built.snapshot, indent=1) + "\n")
        (out_dir / "scenario.truth.json").write_text(json.dumps(built.truth, indent=1) + "\n")
    except OSError as exc:
        raise UserError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    click.echo(f"wrote {count} returns ({len(built.truth)} planted exceptions) to {out_dir}")


def _emit(report, fmt: str) -> None:
    if fmt == "json":
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from .table_output import render_table

        render_table(report)


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


if __name__ == "__main__":
    main()
