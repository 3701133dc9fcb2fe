"""The example worker, but sloppy: with probability SLOPPY_RATE (default 0.5) its sum is off by
one. Seeded by SLOPPY_SEED (printed), so a run can be replayed.

usage: sloppy_worker.py [PORT]
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checksum
import worker

seed = int(os.environ.get("SLOPPY_SEED", random.randrange(2**32)))
print(f"sloppy worker: seed {seed}", file=sys.stderr, flush=True)
rng = random.Random(seed)
rate = float(os.environ.get("SLOPPY_RATE", "0.5"))


def sloppy(input_data):
    result = checksum.compute(input_data)
    if rng.random() < rate:
        result["sum"] += 1
    return result


if __name__ == "__main__":
    worker.main(worker.Worker(sloppy), "Sloppy checksum worker", "Sometimes wrong.")
