"""The ``csreport`` command line (SPEC §5).

Exit codes (for cron and other schedulers): 0 success; 1 unexpected error;
2 bad arguments or config; 3 invalid input data; 4 a notebook cell failed;
5 rendering failed; 6 email delivery failed; 7 history store error.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .config import load_config
from .errors import ConfigError, CsreportError
from .periods import Period


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except CsreportError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="folder of CSV/Parquet tables, or a DuckDB file")
    parser.add_argument("--period", required=True, type=_period, help="month to report, YYYY-MM")
    parser.add_argument("--config", help="YAML config file (column mapping, time zone, SLA, ...)")
    parser.add_argument("--on-invalid", choices=["stop", "quarantine"], default="stop",
                        help="stop at invalid rows (default), or set them aside in a rejects file and go on")
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
    run = commands.add_parser("run", help="execute the report notebook and render HTML/PDF into OUT/YYYY-MM/")
    _add_data_args(run)
    run.add_argument("--format", default="html,pdf", help="comma-separated: html, pdf (default both)")
    run.add_argument("--out", default="reports", help="output folder (default: reports)")
    run.add_argument("--targets", help="targets YAML (default: the config's 'targets', else the shipped defaults)")
    run.add_argument("--notebook", help="report notebook to execute (default: notebooks/executive_summary.ipynb)")
    return parser


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import generate_demo

    if args.scale <= 0:
        raise CsreportError("--scale must be positive")
    generate_demo(args.out, seed=args.seed, scale=args.scale, end=args.end)
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from .data import load_dataset
    from .metrics import compute_metrics

    config = load_config(args.config)
    rejects = args.rejects or Path("csreport-rejects") / str(args.period)
    data = load_dataset(args.data, config, on_invalid=args.on_invalid, rejects_dir=rejects, quiet=args.quiet)
    result = compute_metrics(data, args.period, config)
    document = result.to_json()
    document["data_quality"] = {name: q.__dict__ for name, q in data.quality.items()}
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .report.run import run_report, report_name

    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    unknown = sorted(set(formats) - {"html", "pdf"})
    if unknown or not formats:
        raise ConfigError(f"--format takes html and/or pdf, got {args.format!r}")
    folder = run_report(Path(args.data), args.period, Path(args.config) if args.config else None, Path(args.out),
                        formats, on_invalid=args.on_invalid, targets=Path(args.targets) if args.targets else None,
                        quiet=args.quiet, **({"notebook": Path(args.notebook)} if args.notebook else {}))
    for name in ("metrics.json", "health.csv") + tuple(f"{report_name(args.period)}.{f}" for f in formats):
        print(folder / name)
    return 0


COMMANDS = {"demo": cmd_demo, "metrics": cmd_metrics, "run": cmd_run}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CsreportError as exc:
        print(f"csreport: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("csreport: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
