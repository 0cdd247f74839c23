"""Cuts DE421 (skyfield-data's de421.bsp) to what teld needs for moving targets:
the Sun (10) and the Earth-Moon barycentre (3) relative to the solar-system
barycentre, and the Earth (399) relative to the Earth-Moon barycentre, for
2024-01-01 .. 2035-01-01. teld reads it (`orbit::SolarSystemEphemeris::bundled`) so
close-approach NEO places are right to milliarcseconds without a 16 MB file; outside
the span it falls back to SOFA's epv00 (~7 km) and says so.

Re-run from the repository root:
    .venv-peers/bin/python crates/astro/data/make_de_excerpt.py
Deterministic for the same jplephem and skyfield-data versions.
"""
import os
import subprocess
import sys

from skyfield_data import get_skyfield_data_path

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(get_skyfield_data_path(), "de421.bsp")
OUT = os.path.join(HERE, "de421_earth_sun_2024_2035.bsp")

subprocess.run(
    [sys.executable, "-m", "jplephem", "excerpt", "--targets", "3,10,399", "2024/1/1", "2035/1/1", SOURCE, OUT],
    check=True,
)
print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")
