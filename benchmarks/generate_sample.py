"""Synthetic samples with planted groups: the command line of detection.engine.synthetic (used by the demo too).

python benchmarks/generate_sample.py --posts 100000 --seed 1 --out var/sample.csv [--jsonl] [--span 86400]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detection.engine.synthetic import Sample, generate, main, write_sample  # noqa: E402

__all__ = ["Sample", "generate", "main", "write_sample"]

if __name__ == "__main__":
    raise SystemExit(main())
