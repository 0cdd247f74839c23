#!/usr/bin/env python3
"""Build crates/astro/data/moon_de421.bin: geocentric Moon as Chebyshev granules.

Source
    JPL DE421 (``de421.bsp`` from the ``skyfield-data`` Python package), read
    with ``jplephem``.  The geocentric Moon is segment (3 -> 301, Moon relative
    to the Earth-Moon barycentre) minus segment (3 -> 399, Earth relative to
    the barycentre): the geometric vector from the Earth's centre to the Moon's
    centre at the same instant (no light time, no aberration), in km, on the
    ICRF axes (= GCRS axes).

Time argument
    Julian date in TT, used directly as DE421's time argument (which is TDB):
    the table is DE421 evaluated at TDB = the given TT.  TT and TDB differ by
    at most ~1.7 ms; at the Moon's geocentric speed (~1 km/s) that is ~2 m of
    position, which readers may ignore (it is not counted in the fit error
    quoted below, which is measured against DE421 at the same argument).

Fit
    Granules of GRANULE_DAYS days starting at 2015-01-01T00:00 TT
    (JD 2457023.5); NCOEF Chebyshev coefficients per axis, obtained by
    interpolation at the NCOEF Chebyshev nodes of the first kind of each
    granule (near-minimax).  Enough granules are written to cover up to
    2045-01-01T00:00 TT (JD 2467980.5); the last granule extends beyond it
    (the table covers [start, start + g*len)).  The script then reads the file
    back with an independent evaluator and compares with DE421 every 30 min
    (and every 5 min) over the whole span; it fails if the maximum 3-D
    position error reaches 50 m.

Result (committed file)
    32-day granules, 30 coefficients per axis (degree 29), 343 granules,
    247,000 bytes; max |table - DE421| = 16.3 m (checked every 30 min and
    every 5 min, 2015-01-01 .. 2045-01-01 TT).  Rounding the coefficients to
    f32 would give 35.6 m (still < 50 m) at half the size, but the format is
    f64 and 247 KB is well inside the budget, so the file keeps f64.

Binary layout (little-endian)
    bytes 0..8  b"TELDMOON"
    u32         format version = 1
    u32         n = degree + 1 = coefficients per axis
    f64         start JD (TT) of the first granule
    f64         granule length in days
    u32         g = number of granules
    u32         reserved = 0
    then g granules of 3*n f64: x coefficients (n), then y (n), then z (n).
    Evaluate: k = floor((t-start)/len), s = 2*(t-(start+k*len))/len - 1,
    p = sum_i c_i T_i(s) per axis, T_0 = 1, T_1 = s, T_{i+1} = 2 s T_i - T_{i-1}.

How to re-run (deterministic: byte-identical output; takes ~10 s)
    /work/main/.venv-peers/bin/python crates/astro/data/make_moon_table.py

Versions used: Python 3.11, numpy 2.4, jplephem 2.24, skyfield-data 7.0.0
(de421.bsp).  No network access.
"""
import os
import struct
import sys
import warnings
from importlib import metadata

import numpy as np

warnings.filterwarnings("ignore", message=".*has expired.*")  # skyfield-data's finals file; unused here
from jplephem.spk import SPK  # noqa: E402
from skyfield_data import get_skyfield_data_path  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "moon_de421.bin")
MAGIC = b"TELDMOON"
VERSION = 1
START_JD = 2457023.5   # 2015-01-01T00:00 TT
END_JD = 2467980.5     # 2045-01-01T00:00 TT
GRANULE_DAYS = 32.0
NCOEF = 30             # degree 29
LIMIT_M = 50.0
HEADER = struct.Struct("<8sIIddII")


def de421():
    kernel = SPK.open(os.path.join(get_skyfield_data_path(), "de421.bsp"))
    moon, earth = kernel[3, 301], kernel[3, 399]

    def geocentric_moon_km(jd_tdb):
        jd = np.asarray(jd_tdb, dtype=float)
        return moon.compute(jd) - earth.compute(jd)

    return geocentric_moon_km


def fit(geo):
    g = int(np.ceil((END_JD - START_JD) / GRANULE_DAYS))
    n = NCOEF
    j = np.arange(n)
    theta = np.pi * (j + 0.5) / n
    nodes = np.cos(theta)                                  # Chebyshev nodes in [-1, 1]
    t = START_JD + GRANULE_DAYS * np.arange(g)[:, None] + (nodes[None, :] + 1.0) * (GRANULE_DAYS / 2.0)
    pos = geo(t.ravel()).reshape(3, g, n)                  # axis, granule, node
    tmat = np.cos(np.outer(j, theta))                      # T_i(x_k)
    coef = (2.0 / n) * np.einsum("agk,ik->gai", pos, tmat)  # granule, axis, coefficient
    coef[..., 0] *= 0.5
    return g, coef


def write(g, coef):
    with open(OUT, "wb") as f:
        f.write(HEADER.pack(MAGIC, VERSION, NCOEF, START_JD, GRANULE_DAYS, g, 0))
        f.write(np.ascontiguousarray(coef, dtype="<f8").tobytes())


class MoonTable:
    """Independent reader/evaluator of the file, as the Rust side must do it."""

    def __init__(self, path):
        with open(path, "rb") as f:
            buf = f.read()
        magic, ver, n, start, length, g, reserved = HEADER.unpack_from(buf, 0)
        assert magic == MAGIC and ver == 1 and reserved == 0, (magic, ver, reserved)
        assert len(buf) == HEADER.size + g * 3 * n * 8, "size mismatch"
        self.n, self.start, self.len, self.g = n, start, length, g
        self.c = np.frombuffer(buf, dtype="<f8", offset=HEADER.size).reshape(g, 3, n)

    def position_km(self, jd_tt):
        t = np.atleast_1d(np.asarray(jd_tt, dtype=float))
        k = np.floor((t - self.start) / self.len).astype(np.int64)
        if np.any(k < 0) or np.any(k >= self.g):
            raise ValueError("time outside the table")
        s = 2.0 * (t - (self.start + k * self.len)) / self.len - 1.0
        c = self.c[k]                                      # (m, 3, n)
        # Clenshaw recurrence
        b1 = np.zeros((len(t), 3))
        b2 = np.zeros((len(t), 3))
        for i in range(self.n - 1, 0, -1):
            b1, b2 = 2.0 * s[:, None] * b1 - b2 + c[:, :, i], b1
        return (s[:, None] * b1 - b2 + c[:, :, 0]).T        # (3, m)


def verify(table, geo, step_days, f32=False):
    t = np.arange(START_JD, END_JD + 1e-9, step_days)
    worst = 0.0
    worst_t = None
    if f32:
        saved = table.c
        table.c = saved.astype(np.float32).astype(np.float64)
    for chunk in np.array_split(t, 16):
        err_m = np.linalg.norm(table.position_km(chunk) - geo(chunk), axis=0) * 1000.0
        i = int(np.argmax(err_m))
        if err_m[i] > worst:
            worst, worst_t = float(err_m[i]), float(chunk[i])
    if f32:
        table.c = saved
    return len(t), worst, worst_t


def main():
    geo = de421()
    g, coef = fit(geo)
    write(g, coef)
    size = os.path.getsize(OUT)
    print(f"wrote {OUT}: {size} bytes; {g} granules of {GRANULE_DAYS:g} d, {NCOEF} coefficients "
          f"(degree {NCOEF - 1}) per axis, JD(TT) {START_JD} .. {START_JD + g * GRANULE_DAYS} "
          f"(required to {END_JD})")
    table = MoonTable(OUT)
    for step, label in ((1 / 48, "30 min"), (1 / 288, "5 min")):
        count, worst, wt = verify(table, geo, step)
        print(f"check every {label}: {count} instants, max |table - DE421| = {worst:.2f} m at JD {wt:.5f}")
        if not worst < LIMIT_M:
            raise SystemExit(f"FAILED: error {worst:.2f} m >= {LIMIT_M} m")
    count, worst, _ = verify(table, geo, 1 / 48, f32=True)
    print(f"(information only: with the coefficients rounded to f32 the max error would be {worst:.2f} m; "
          f"the file keeps f64)")
    # a spot check against skyfield's own geometric vector (same kernel, different code path)
    from skyfield.api import Loader
    load = Loader(get_skyfield_data_path(), verbose=False)
    eph = load("de421.bsp")
    ts = load.timescale(builtin=True)
    jd = np.array([START_JD + 0.123, 2460000.77, 2467980.25])
    sf = (eph["moon"] - eph["earth"]).at(ts.tdb_jd(jd)).position.km
    print(f"skyfield spot check: max diff {np.abs(sf - table.position_km(jd)).max() * 1000:.2f} m")
    print("versions: numpy", np.__version__, "jplephem", metadata.version("jplephem"),
          "skyfield-data", metadata.version("skyfield-data"))


if __name__ == "__main__":
    sys.exit(main())
