"""py_lets_be_rational: Black prices and implied volatilities over an option surface.

A user of py_lets_be_rational prices options with ``black`` and inverts market prices to
implied volatilities with ``implied_volatility_from_a_transformed_rational_guess``. Here: a
surface of calls and puts over strikes and expiries with a volatility smile (a fixed formula,
plus seeded noise), priced, inverted back to volatilities (with the round-trip error
recorded), and the normalised vega of each. The work is scalar float code: Householder
iterations, rational cubic interpolation (``piecewise_rational``) and Cody's error functions
(``cody_special``), all pure Python.

The package can jit itself with Numba (its ``maybe_jit`` decorator) when Numba is installed
and ``PY_LETS_BE_RATIONAL_ENABLE_NUMBA`` is set to 1/true/yes/on; it is off by default in
1.1.2. The driver sets the variable to 0 before the import so that the package runs as plain
Python whatever the environment says, and checks that no function was jitted.
"""

import math
import os
import random
import sys
from pathlib import Path

os.environ["PY_LETS_BE_RATIONAL_ENABLE_NUMBA"] = "0"  # the package's own switch: no Numba
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
import py_lets_be_rational as lbr
from corpus_common import Digest, pick
from py_lets_be_rational.lets_be_rational import normalised_vega

FORWARD = 100.0


def smile(strike: float, expiry: float) -> float:
    """A volatility smile: higher away from the money, flatter for longer expiries."""
    moneyness = math.log(strike / FORWARD) / math.sqrt(expiry)
    return 0.2 + 0.1 * moneyness * moneyness - 0.03 * moneyness


def main() -> None:
    # Plain Python functions, not Numba dispatchers (see the module docstring).
    assert type(lbr.black).__name__ == "function", "py_lets_be_rational is jitted"
    rng = random.Random(5)
    digest = Digest()
    strikes = [FORWARD * math.exp(0.05 * k) for k in range(-pick(40, 8), pick(40, 8) + 1)]
    expiries = [0.02, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0][: pick(7, 3)]
    prices, volatilities, errors, vegas = [], [], [], []
    for _ in range(pick(40, 2)):  # repeated surfaces, as over a day of market snapshots
        bump = rng.uniform(-0.02, 0.02)
        for expiry in expiries:
            for strike in strikes:
                for q in (1.0, -1.0):  # call, put
                    sigma = smile(strike, expiry) + bump + rng.uniform(-0.005, 0.005)
                    price = lbr.black(FORWARD, strike, sigma, expiry, q)
                    implied = lbr.implied_volatility_from_a_transformed_rational_guess(
                        price, FORWARD, strike, expiry, q
                    )
                    x = math.log(FORWARD / strike)
                    prices.append(price)
                    volatilities.append(implied)
                    errors.append(implied - sigma)
                    vegas.append(normalised_vega(x, sigma * math.sqrt(expiry)))
    digest.add("prices", prices)
    digest.add("implied", volatilities)
    digest.add("round trip errors", errors)
    digest.add("max round trip error", max(map(abs, errors)))
    digest.add("vegas", vegas)
    digest.add("norm_cdf", [lbr.norm_cdf(z / 8.0) for z in range(-80, 81)])
    digest.close()


if __name__ == "__main__":
    main()
