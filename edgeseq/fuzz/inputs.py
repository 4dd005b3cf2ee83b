"""The inputs `edgeseq fuzz` feeds a file: generated from the data contract the file carries (no data needed on
the device), and from samples when there are some (the user's --data, else what the file can be run on without
it: the shipped sample for MNIST files, the samples stored in a file's golden sidecar for others).

Three families, each input with a one-line description of how it was made:
  edge       the contract's baseline (all zeros, the value of padding and of a blank MNIST row), the range's
             low and high everywhere, constant rows at 1/4, 1/2 and 3/4 of the range, each feature at the range's
             low and high (at every step, the others at the baseline), a spike of +-3 and +-6 standard deviations
             at the first, middle and last step, and, for variable-length data, the shortest and longest
             sequences (left-padded, as the contract says)
  realistic  samples with Gaussian noise (5 % of the range), shifted in time by 1 to 3 steps (the gap filled
             with the baseline) or scaled in amplitude about the baseline by 0.5 to 1.5
  random     uniform within the range the normalisation implies
The range: pixels/255 data lies in [0, 1], a hard fact (a uint8 pixel cannot leave it), so every input is clipped
to it. Standardised data is unbounded: its range is the training split's per-feature min and max when samples
with a training split are given, else +-3 (standard deviations, the normalised scale), and spikes go beyond it
on purpose. The same seed and contract give the same inputs on every machine.

Importing this module imports no runtime library and never TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgeseq.data import Dataset, DataSpec
from edgeseq.data.spec import NormKind

FAMILIES = ("edge", "realistic", "random")
SPIKE_SIGMAS = (3.0, 6.0)
NOISE_OF_RANGE = 0.05
STANDARD_RANGE = 3.0            # standardised data without a training split: +-3 standard deviations


@dataclass(frozen=True)
class InputRange:
    """Per feature, in the model's (normalised) input scale."""
    low: np.ndarray
    high: np.ndarray
    baseline: np.ndarray        # zeros: padding, a blank row, the training mean of standardised data
    std: np.ndarray             # the spread a spike is measured in
    bounded: bool               # inputs outside [low, high] cannot occur (pixels): clip every input to it
    source: str                 # how the range was found, for the report

    def clip(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, self.low, self.high).astype(np.float32) if self.bounded else x.astype(np.float32)


def input_range(spec: DataSpec, samples: Dataset | None) -> InputRange:
    """The range the normalisation implies, narrowed by a training split when there is one (module docstring)."""
    features = spec.features
    zeros = np.zeros(features, np.float32)
    train = samples.x_train if samples is not None and len(samples.x_train) else None
    if spec.normalisation.kind == NormKind.PIXELS:
        std = np.full(features, 0.5, np.float32) if train is None else \
            np.maximum(train.reshape(-1, features).std(axis=0), 1e-3).astype(np.float32)
        how = "pixels/255: [0, 1]" + ("" if train is None else f"; spikes in the training split's std ({samples.name})")
        return InputRange(zeros, np.ones(features, np.float32), zeros, std, True, how)
    ones = np.ones(features, np.float32)
    if train is None:
        return InputRange(-STANDARD_RANGE * ones, STANDARD_RANGE * ones, zeros, ones, False,
                          f"standardised: +-{STANDARD_RANGE:g} (no training split given)")
    rows = train.reshape(-1, features)
    return InputRange(rows.min(axis=0).astype(np.float32), rows.max(axis=0).astype(np.float32), zeros, ones, False,
                      f"standardised: the training split's min and max ({samples.name})")


@dataclass(frozen=True)
class Generated:
    x: np.ndarray = field(repr=False)                   # (N, T, F) float32
    family: tuple[str, ...] = field(repr=False)         # per input, one of FAMILIES
    description: tuple[str, ...] = field(repr=False)    # per input, how it was made
    range: InputRange = field(repr=False)
    seed: int = 0
    notes: tuple[str, ...] = ()                         # what could not be generated, and why

    def __len__(self) -> int:
        return len(self.family)

    def counts(self) -> dict[str, int]:
        return {name: self.family.count(name) for name in FAMILIES}


def edge_cases(spec: DataSpec, limits: InputRange, samples: Dataset | None = None) -> list[tuple[np.ndarray, str]]:
    """The edge family, in a fixed order (module docstring)."""
    steps, features = spec.timesteps, spec.features
    base = np.broadcast_to(limits.baseline, (steps, features))
    cases: list[tuple[np.ndarray, str]] = [(base.copy(), "baseline everywhere (all zeros)")]
    cases += [(np.broadcast_to(limits.low, (steps, features)).copy(), "the range's low everywhere"),
              (np.broadcast_to(limits.high, (steps, features)).copy(), "the range's high everywhere")]
    for share in (0.25, 0.5, 0.75):
        cases.append((np.broadcast_to(limits.low + share * (limits.high - limits.low), (steps, features)).copy(),
                      f"constant rows at {share:g} of the range"))
    for f in range(features):
        for name, bound in (("high", limits.high), ("low", limits.low)):
            if bound[f] == limits.baseline[f]:
                continue
            x = base.copy()
            x[:, f] = bound[f]
            cases.append((x, f"feature {f} at the range's {name} at every step"))
    for t in sorted({0, steps // 2, steps - 1}):
        for sigma in SPIKE_SIGMAS:
            for sign in (1, -1):
                x = base.copy()
                x[t] = limits.baseline + sign * sigma * limits.std
                cases.append((x, f"a spike of {sign * sigma:+g} std at step {t}"))
    if spec.variable_length and samples is not None and len(samples.x_test):
        lengths = samples.lengths_test if samples.lengths_test is not None else np.full(len(samples.x_test), steps)
        for pick, name in ((int(np.argmin(lengths)), "shortest"), (int(np.argmax(lengths)), "longest")):
            cases.append((samples.x_test[pick].copy(), f"the {name} sample ({int(lengths[pick])} steps), #{pick}"))
    return [(limits.clip(x), text) for x, text in cases]


def _realistic(rng: np.random.Generator, samples: np.ndarray, limits: InputRange, count: int
               ) -> list[tuple[np.ndarray, str]]:
    out = []
    spread = (limits.high - limits.low).astype(np.float32)
    for _ in range(count):
        pick = int(rng.integers(len(samples)))
        x = samples[pick].astype(np.float32).copy()
        kind = int(rng.integers(3))
        if kind == 0:
            x = x + rng.normal(0.0, NOISE_OF_RANGE, x.shape).astype(np.float32) * spread
            text = f"sample #{pick} + Gaussian noise ({NOISE_OF_RANGE:g} of the range)"
        elif kind == 1:
            shift = int(rng.choice([-3, -2, -1, 1, 2, 3]))
            x = np.roll(x, shift, axis=0)
            if shift > 0:
                x[:shift] = limits.baseline
            else:
                x[shift:] = limits.baseline
            text = f"sample #{pick} shifted {shift:+d} steps"
        else:
            scale = float(rng.uniform(0.5, 1.5))
            x = limits.baseline + (x - limits.baseline) * np.float32(scale)
            text = f"sample #{pick} scaled x{scale:.2f}"
        out.append((limits.clip(x), text))
    return out


def generate(spec: DataSpec, count: int, seed: int = 0, samples: Dataset | None = None) -> Generated:
    """`count` inputs for a model of `spec`: the edge cases first (as many as fit), then the rest split between
    realistic and random (all random without samples; the notes say so)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    limits = input_range(spec, samples)
    rng = np.random.default_rng(seed)
    made: list[tuple[np.ndarray, str, str]] = [(x, "edge", text) for x, text in edge_cases(spec, limits, samples)]
    made = made[:count]
    left = count - len(made)
    notes = []
    test = samples.x_test if samples is not None and len(samples.x_test) else None
    realistic = left // 2 if test is not None else 0
    if test is None and left:
        notes.append("no samples to vary: the realistic family is empty (pass --data)")
    made += [(x, "realistic", text) for x, text in _realistic(rng, test, limits, realistic)] if realistic else []
    random = count - len(made)
    if random:
        x = rng.uniform(limits.low, limits.high, (random, spec.timesteps, spec.features)).astype(np.float32)
        made += [(row, "random", "uniform within the range") for row in x]
    return Generated(np.stack([m[0] for m in made]).astype(np.float32), tuple(m[1] for m in made),
                     tuple(m[2] for m in made), limits, seed, tuple(notes))
