"""``python -m sro_bench.metrics [fl-calibration|sta-check] [--data-dir D] [--cache-dir C]``:
the metrics' own checks, printed as JSON, until the CLI exposes them."""

from __future__ import annotations

import argparse
import json

from . import fl_calibration, sta_check


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sro_bench.metrics")
    parser.add_argument("check", choices=["fl-calibration", "sta-check"])
    parser.add_argument("--data-dir")
    parser.add_argument("--cache-dir")
    args = parser.parse_args(argv)
    run = fl_calibration if args.check == "fl-calibration" else sta_check
    print(json.dumps(run(args.data_dir, args.cache_dir), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
