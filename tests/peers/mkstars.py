#!/usr/bin/env python3
"""Writes an offline star catalogue for the ASCOM Alpaca simulators (PyPI
`alpaca-simulators`), so their light frames never query the online Gaia service.

The simulators read table gaia_sources(ra, dec, pmra, pmdec, phot_g_mean_mag), degrees,
from the SQLite file named by `tap_source:` in their YAML. Stars are seeded random,
uniform in a square of +-HALF degrees around each field, G 9-17 with more faint stars
than bright ones, so every test run renders the same sky.

usage: mkstars.py OUT.db RA,DEC [RA,DEC ...]
"""
import math
import random
import sqlite3
import sys

HALF = 0.1          # degrees: a field is 0.2 x 0.2 deg, wider than the 4.4' frame
PER_FIELD = 400
SEED = 20261124


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    out, fields = argv[1], [tuple(map(float, f.split(","))) for f in argv[2:]]
    rng = random.Random(SEED)
    con = sqlite3.connect(out)
    con.execute("DROP TABLE IF EXISTS gaia_sources")
    con.execute(
        "CREATE TABLE gaia_sources (ra REAL, dec REAL, pmra REAL, pmdec REAL, phot_g_mean_mag REAL)"
    )
    rows = []
    for ra0, dec0 in fields:
        cos_dec = max(math.cos(math.radians(dec0)), 1e-3)
        for _ in range(PER_FIELD):
            dec = dec0 + rng.uniform(-HALF, HALF)
            ra = (ra0 + rng.uniform(-HALF, HALF) / cos_dec) % 360.0
            mag = 17.0 - 8.0 * rng.random() ** 3
            rows.append((ra, dec, 0.0, 0.0, mag))
    con.executemany("INSERT INTO gaia_sources VALUES (?, ?, ?, ?, ?)", rows)
    con.execute("CREATE INDEX gaia_radec ON gaia_sources (ra, dec)")
    con.commit()
    con.close()
    print(f"mkstars: {len(rows)} stars in {len(fields)} fields -> {out}")


if __name__ == "__main__":
    main(sys.argv)
