"""The ``csreport`` command line (SPEC §5).

Exit codes (for cron and other schedulers): 0 success; 1 unexpected error, or the system refused
a file operation (a full disk, a permission: the message names the file);
2 bad arguments or config; 3 invalid input data; 4 a notebook cell failed;
5 rendering failed; 6 email delivery failed; 7 history store error; 8 a company metric
(metrics_module) failed; 9 some groups of a batch failed (the others were published);
130 interrupted (Ctrl-C, SIGINT); 143 stopped by SIGTERM (cron, systemd, timeout). An interrupted or
stopped run cleans up after itself: no staging folder, kernel or temporary file is left.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import ConfigError, CsreportError
from .periods import Period
from .progress import say
from .text import for_terminal

if TYPE_CHECKING:  # the commands import the model when they run: `csreport --help` stays light
    from .model import ReportModel

DEFAULT_HISTORY = Path("reports") / "history.sqlite"


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except CsreportError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _data(text: str) -> str:
    """--data: a PostgreSQL URL (refused if it holds a password) or a path."""
    if "://" not in text:  # a path (every URL scheme has '://'): the database module is not needed
        return text
    from .data.postgres import PgUrl, is_url

    if is_url(text):
        try:
            PgUrl.parse(text)
        except ConfigError as exc:  # the message never repeats the URL, which may hold a password
            raise argparse.ArgumentTypeError(str(exc)) from None
    return text


@contextmanager
def _engine_chosen(args: argparse.Namespace):
    """--engine wins over the config; passed through the environment (for this command only) so that
    the report notebook's kernel sees it too."""
    from .config import ENGINE_VARIABLE

    before = os.environ.get(ENGINE_VARIABLE)
    if getattr(args, "engine", None):
        os.environ[ENGINE_VARIABLE] = args.engine
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENGINE_VARIABLE, None)
        else:
            os.environ[ENGINE_VARIABLE] = before


def _add_data_args(parser: argparse.ArgumentParser, with_period: bool = True, with_rejects: bool = True) -> None:
    parser.add_argument("--data", required=True, type=_data, help="folder of CSV/Parquet tables, a DuckDB file, or "
                        "postgresql://USER@HOST:PORT/DB[?schema=NAME] (password from PGPASSWORD or ~/.pgpass)")
    parser.add_argument("--engine", choices=["duckdb", "spark"],
                        help="where the events are aggregated (default: the config's 'engine', else duckdb)")
    if with_period:
        parser.add_argument("--period", type=_period, help="month to report, YYYY-MM (default: the last month "
                            "that is over in the config's time zone)")
    parser.add_argument("--config", help="YAML config file (column mapping, time zone, SLA, ...)")
    parser.add_argument("--on-invalid", choices=["stop", "quarantine"], default="stop",
                        help="stop at invalid rows (default), or set them aside in a rejects file and go on")
    if with_rejects:  # `run` keeps rejected rows inside the report folder (OUT/YYYY-MM/rejects/)
        parser.add_argument("--rejects", help="folder for rejected rows with --on-invalid=quarantine")
    parser.add_argument("--quiet", action="store_true", help="no progress messages on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csreport", description="Monthly Customer Success report.")
    parser.add_argument("--version", action="version", version=f"csreport {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="write a realistic synthetic data source")
    demo.add_argument("--out", required=True, help="folder to write the tables into")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--scale", type=float, default=1.0, help="multiplies the ~5 million usage events")
    demo.add_argument("--end", type=_period, help="last month of the 24 (default: last complete month)")

    metrics = commands.add_parser("metrics", help="print metrics.json for one period (no notebook)")
    _add_data_args(metrics)
    metrics.add_argument("--targets", help="targets YAML (default: the config's 'targets', else the shipped defaults)")
    metrics.add_argument("--history", default=str(DEFAULT_HISTORY), help=f"history store to compare with "
                         f"(read only; default {DEFAULT_HISTORY})")

    backfill = commands.add_parser("backfill", help="compute and record many periods in the history store")
    _add_data_args(backfill, with_period=False)
    backfill.add_argument("--from", dest="from_", required=True, type=_period, help="first month, YYYY-MM")
    backfill.add_argument("--to", required=True, type=_period, help="last month, YYYY-MM")
    backfill.add_argument("--targets", help="targets YAML")
    backfill.add_argument("--history", default=str(DEFAULT_HISTORY), help=f"history store (default {DEFAULT_HISTORY})")

    run = commands.add_parser("run", help="execute the report notebook and render HTML/PDF into OUT/YYYY-MM/")
    _add_data_args(run, with_rejects=False)
    run.add_argument("--format", default="html,pdf", help="comma-separated: html, pdf (default both)")
    run.add_argument("--out", default="reports", help="output folder (default: reports)")
    run.add_argument("--targets", help="targets YAML (default: the config's 'targets', else the shipped defaults)")
    run.add_argument("--history", help="history store to compare with and record into (default OUT/history.sqlite)")
    run.add_argument("--notebook", help="report notebook to execute (default: the executive summary shipped with "
                     "csreport); any notebook with a 'parameters' cell works, see README 'Report notebooks'")
    run.add_argument("--email", action="store_true", help="email the PDF to the configured recipients afterwards")

    batch = commands.add_parser("batch", help="a report per CSM, segment or account into OUT/YYYY-MM/<by>/, "
                                "in parallel, from one load of the data")
    _add_data_args(batch, with_rejects=False)
    batch.add_argument("--by", required=True, choices=["csm", "segment", "account"],
                       help="csm or segment: the executive report of each book of business; account: an account "
                       "review per customer")
    batch.add_argument("--only", help="comma-separated CSMs, segments or account_ids (default: all)")
    batch.add_argument("--out", default="reports", help="output folder (default: reports)")
    batch.add_argument("--workers", type=int, help="parallel workers, each with a warm kernel (default: one per core)")
    batch.add_argument("--format", default="html,pdf", help="comma-separated: html, pdf (default both)")
    batch.add_argument("--targets", help="targets YAML (default: the config's 'targets', else the shipped defaults)")

    targets = commands.add_parser("targets", help="work with targets files")
    targets_commands = targets.add_subparsers(dest="targets_command", required=True)
    suggest = targets_commands.add_parser(
        "suggest", help="propose targets from the history store: each a step better than its recent baseline")
    suggest.add_argument("--history", required=True, help="history store written by 'run' or 'backfill'")
    suggest.add_argument("--months", type=int, default=6,
                         help="baseline = median of the last N recorded months (default 6)")
    suggest.add_argument("--out", help="write the targets YAML here (default: print it)")

    email = commands.add_parser("email", help="email a period's PDF report to leadership (SMTP settings from env)")
    email.add_argument("--period", type=_period, help="month of the report, YYYY-MM (default: the last month "
                       "that is over in the config's time zone)")
    email.add_argument("--out", default="reports", help="the folder 'csreport run' wrote into (default: reports)")
    email.add_argument("--config", help="YAML config (email.to, email.from, report.company)")
    email.add_argument("--to", help="comma-separated recipients (default: the config's email.to)")
    email.add_argument("--dry-run", action="store_true", help="write the .eml next to the report instead of sending")
    email.add_argument("--force", action="store_true", help="send even to recipients who already got this period")
    email.add_argument("--batch", action="store_true", help="send each CSM their own book (from 'csreport batch')")
    email.add_argument("--by", default="csm", choices=["csm"], help="with --batch: the books to send (csm)")
    email.add_argument("--only", help="with --batch: comma-separated CSMs (default: every book)")
    return parser


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import generate_demo

    if args.scale <= 0:
        raise ConfigError(f"--scale must be positive, got {args.scale:g}")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ConfigError(f"--out {args.out} is a file; name a folder for the demo data")
    generate_demo(args.out, seed=args.seed, scale=args.scale, end=args.end)
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from .benchmark.history import History
    from .benchmark.targets import targets_for, warn_unmatched_segments
    from .config import load_config
    from .data import load_dataset
    from .model import build_model

    config = load_config(args.config)
    targets = targets_for(config, args.targets)  # a bad targets file stops the run before the data is read
    rejects_dir = Path(args.rejects) if args.rejects else Path("csreport-rejects") / str(args.period)
    dataset = load_dataset(args.data, config, on_invalid=args.on_invalid, rejects_dir=rejects_dir, quiet=args.quiet)
    warn_unmatched_segments(targets, dataset.segment_names())
    # reads the history for comparisons, never writes it: only `run` and `backfill` record
    model = build_model(dataset, args.period, config, targets, History(args.history))
    _warn_if_unfinished(model)
    json.dump(model.document(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def _warn_if_unfinished(model: ReportModel, recorded: bool = False) -> None:
    """A month not over yet is computed (a report of the month so far is legitimate), never without saying so;
    a warning, not progress: said even with --quiet. ``recorded``: the command records the history."""
    if model.unfinished_as_of is not None:
        from .model.records import NOT_RECORDED
        from .report.narrative import unfinished_line

        say(f"warning: {unfinished_line(model)}" + (f" {NOT_RECORDED}" if recorded else ""))


def cmd_backfill(args: argparse.Namespace) -> int:
    import time

    from .benchmark.history import History
    from .benchmark.targets import targets_for, warn_unmatched_segments
    from .config import load_config
    from .data import load_dataset
    from .model import Calculator, ModelOptions, build_model, record

    if args.to < args.from_:
        raise ConfigError(f"--to {args.to} is before --from {args.from_}")
    config = load_config(args.config)
    targets, history = targets_for(config, args.targets), History(args.history)
    rejects_dir = Path(args.rejects) if args.rejects else Path("csreport-rejects") / "backfill"
    dataset = load_dataset(args.data, config, on_invalid=args.on_invalid, rejects_dir=rejects_dir, quiet=args.quiet)
    warn_unmatched_segments(targets, dataset.segment_names())
    periods = args.from_.range_to(args.to)
    started = time.perf_counter()
    # one pass over the events for every month (from the first period's health backtest month), then
    # pure pandas per period
    calculator = Calculator(dataset, config, periods)
    values_only = ModelOptions(comparisons=False, trends=False, details=False)
    unfinished = []
    for i, period in enumerate(periods, start=1):
        model = build_model(dataset, period, config, targets, None, calculator, values_only)
        _warn_if_unfinished(model, recorded=True)
        if model.unfinished_as_of is not None:
            unfinished.append(str(period))
        rows = record(model, history)
        say(f"{period}: {rows} rows recorded ({i}/{len(periods)}, {time.perf_counter() - started:.1f} s)", args.quiet)
    left_out = f" ({', '.join(unfinished)} not over yet: not recorded)" if unfinished else ""
    recorded = len(periods) - len(unfinished)
    print(f"{recorded} period{'s' if recorded != 1 else ''} recorded in {args.history}{left_out}")
    return 0


def _formats(text: str) -> list[str]:
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = sorted(set(formats) - {"html", "pdf"})
    if unknown or not formats:
        raise ConfigError(f"--format takes html and/or pdf, got {text!r}")
    return formats


def cmd_run(args: argparse.Namespace) -> int:
    from .report.outputs import HEALTH_FILE, METRICS_FILE, report_filename
    from .report.run import run_report

    formats = _formats(args.format)
    if args.email and "pdf" not in formats:
        raise ConfigError("--email sends the PDF: include pdf in --format")
    folder, model = run_report(
        args.data, args.period, Path(args.config) if args.config else None, Path(args.out), formats,
        on_invalid=args.on_invalid, targets_path=Path(args.targets) if args.targets else None, quiet=args.quiet,
        notebook=Path(args.notebook) if args.notebook else None,
        history_path=Path(args.history) if args.history else None)
    names = ((METRICS_FILE, HEALTH_FILE) if model is not None else ()) + tuple(
        report_filename(args.period, f) for f in formats)
    for name in names:
        print(folder / name)
    if args.email:
        from .config import load_config
        from .delivery.deliver import email_report

        email_report(Path(args.out), args.period, load_config(args.config))
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from .batch.run import run_batch

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {args.workers}")
    only = [name.strip() for name in args.only.split(",") if name.strip()] if args.only else None
    result = run_batch(args.data, args.period, args.by, Path(args.out), Path(args.config) if args.config else None,
                       only=only, workers=args.workers, formats=tuple(_formats(args.format)),
                       targets_path=Path(args.targets) if args.targets else None, on_invalid=args.on_invalid,
                       quiet=args.quiet)
    print(result.folder / "index.html")
    return 0


def cmd_email(args: argparse.Namespace) -> int:
    from .config import load_config
    from .delivery.deliver import email_books, email_report

    if args.batch:
        if args.to:
            raise ConfigError("--to and --batch do not go together: --batch sends each book to its CSM")
        only = [name.strip() for name in args.only.split(",") if name.strip()] if args.only else None
        for path in email_books(Path(args.out), args.period, load_config(args.config), args.by, only,
                                dry_run=args.dry_run, force=args.force):
            print(path)
        return 0

    to = [a for a in args.to.split(",")] if args.to else None
    eml = email_report(Path(args.out), args.period, load_config(args.config), to=to, dry_run=args.dry_run,
                       force=args.force)
    if eml:
        print(eml)
    return 0


def cmd_targets(args: argparse.Namespace) -> int:
    from .benchmark.suggest import suggest_targets

    text = suggest_targets(args.history, args.months)  # the only targets subcommand so far: suggest
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(out)
    else:
        sys.stdout.write(text)
    return 0


COMMANDS = {"demo": cmd_demo, "metrics": cmd_metrics, "backfill": cmd_backfill, "run": cmd_run, "batch": cmd_batch,
            "email": cmd_email, "targets": cmd_targets}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C, so that every clean-up on the way out runs."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # a signal handler can only be set in the main thread; the caller's own handler is put back on return
    previous = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        if getattr(args, "period", False) is None:  # not given: the last month over where the company is
            from .config import load_config

            args.period = Period.last_complete(tz=load_config(args.config).timezone)
        with _engine_chosen(args):
            return COMMANDS[args.command](args)
    except CsreportError as exc:
        print(f"csreport: error: {for_terminal(str(exc))}", file=sys.stderr)  # it may quote names from the data
        return exc.exit_code
    except Terminated:
        print("csreport: stopped (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("csreport: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `csreport metrics ... | head`: the reader left; no traceback (Python docs recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # the system refused (a full disk, a permission): what and where, not a traceback
        where = f": {exc.filename}" if exc.filename else ""
        print(for_terminal(f"csreport: error: {exc.strerror or exc}{where}. Fix this and run again."),
              file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
