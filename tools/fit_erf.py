"""Fit the rational erf(x / sqrt 2) ~ x P(x^2) / Q(x^2) of src/csrc/elementwise/vmath.hpp.

    python tools/fit_erf.py            # degrees 5/5 on |x| <= 5.6, as erf_scaled uses

Minimax absolute error by Loeb's linearization (x P - f Q = 0, weighted by 1 / Q) with
Lawson's reweighting towards the equioscillating error, on Chebyshev nodes, in float64;
prints the error in exact arithmetic, then in float32 with FMA as the kernels evaluate it
(Horner, coefficients rounded to float32), in units of 2^-24. Needs SciPy.
"""

import argparse

import numpy as np
from scipy.special import erf


def fit(num_terms, den_terms, cap, nodes=6000, iterations=200):
    """P's num_terms coefficients, then Q's 1 + den_terms (Q(0) = 1), lowest first."""
    x = np.cos(np.linspace(0, np.pi, nodes)) * cap / 2 + cap / 2
    f = erf(x / np.sqrt(2))
    s = x * x
    q_at = np.ones_like(x)
    weight = np.ones_like(x)
    for _ in range(iterations):
        a = np.hstack(
            [
                x[:, None] * s[:, None] ** np.arange(num_terms),
                -f[:, None] * s[:, None] ** np.arange(1, den_terms + 1),
            ]
        )
        w = weight / q_at
        c, *_ = np.linalg.lstsq(a * w[:, None], f * w, rcond=None)
        p, q = c[:num_terms], np.concatenate([[1.0], c[num_terms:]])
        q_at = np.polyval(q[::-1], s)
        err = np.abs(x * np.polyval(p[::-1], s) / q_at - f)
        weight *= np.sqrt(err + 1e-3 * err.max())
        weight /= weight.max()
    return p, q


def eval_float32(p, q, x):
    """x P(x^2) / Q(x^2) as the kernels compute it: float32 Horner steps with FMA."""
    x = x.astype(np.float32)
    s = x * x

    def fma(a, b, c):  # one rounding: the float64 product of two float32 is exact
        return (a.astype(np.float64) * b + c).astype(np.float32)

    num = np.full_like(x, np.float32(p[-1]))
    for c in p[-2::-1]:
        num = fma(num, s, np.float32(c))
    den = np.full_like(x, np.float32(q[-1]))
    for c in q[-2::-1]:
        den = fma(den, s, np.float32(c))
    return (x * num) / den


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--num", type=int, default=6, help="coefficients of P")
    parser.add_argument("--den", type=int, default=5, help="coefficients of Q beyond Q(0) = 1")
    parser.add_argument("--cap", type=float, default=5.6, help="fit on 0 <= x <= cap")
    args = parser.parse_args()
    p, q = fit(args.num, args.den, args.cap)
    x = np.linspace(0, args.cap, 400_001)
    ref = erf(x / np.sqrt(2))
    exact = np.abs(x * np.polyval(p[::-1], x * x) / np.polyval(q[::-1], x * x) - ref).max()
    rounded = np.abs(eval_float32(p, q, x).astype(np.float64) - ref).max()
    print(f"max |error|: {exact / 2**-24:.2f} x 2^-24 exact, {rounded / 2**-24:.2f} x 2^-24 in float32")
    print("P:", ", ".join(f"{float(np.float32(c))!r}f" for c in p))
    print("Q:", ", ".join(f"{float(np.float32(c))!r}f" for c in q))


if __name__ == "__main__":
    main()
