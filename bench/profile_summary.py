"""Summarise a py-spy ``raw`` (collapsed stacks) profile: the functions with most samples.

python -m bench.profile_summary test-artifacts/bench/<time>/a-profile.txt [TOP]
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

__all__ = ["summarise"]


def summarise(path: Path, top: int = 40) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = [
            frame for frame in stack.split(";") if not frame.startswith(("process ", "thread "))
        ]
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            own[frames[-1]] += count
    lines = [f"{total} samples", "", "inclusive:"]
    lines += [
        f"{count:7d} {100 * count / total:5.1f}%  {frame}"
        for frame, count in inclusive.most_common(top)
    ]
    lines += ["", "self:"]
    lines += [
        f"{count:7d} {100 * count / total:5.1f}%  {frame}" for frame, count in own.most_common(top)
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 40))
