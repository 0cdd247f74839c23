"""The astropy side of `teld bench astro`: the same targets x instants grid through
astropy's AltAz transform, in its fastest layout (the targets as the long axis: one
transform of all targets per instant), timed in CPU seconds.

Input (stdin): JSON {"site": {...}, "start_utc": ..., "step_s": ..,
"instants": T, "targets": [[ra, dec], ...], "samples": [[t, i], ...]}.
Output (stdout): JSON {"altaz_cpu_s", "with_moon_cpu_s", "samples": [alt_deg, ...],
"versions": {...}}.
"""
import json
import sys
import time

import numpy as np
from astropy import units as u
from astropy.coordinates import AltAz, EarthLocation, SkyCoord, get_body
from astropy.time import Time
from astropy.utils import iers

iers.conf.auto_download = False
iers.conf.iers_degraded_accuracy = "warn"
# Offline: the bundled IERS-A table is used as it is, however old.
iers.conf.auto_max_age = None


def main():
    spec = json.load(sys.stdin)
    s = spec["site"]
    loc = EarthLocation.from_geodetic(s["lon_deg"] * u.deg, s["lat_deg"] * u.deg, s["height_m"] * u.m)
    ra, dec = np.array(spec["targets"]).T
    targets = SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")
    t0 = Time(spec["start_utc"], scale="utc")
    times = t0 + np.arange(spec["instants"]) * spec["step_s"] * u.s
    wanted = {}
    for t, i in spec["samples"]:
        wanted.setdefault(t, []).append(i)

    # Warm up (first transform loads tables).
    targets[:10].transform_to(AltAz(obstime=times[0], location=loc))

    samples = {}
    c0 = time.process_time()
    for k, t in enumerate(times):
        aa = targets.transform_to(AltAz(obstime=t, location=loc))
        alt = aa.alt.deg
        _airmass = aa.secz
        if k in wanted:
            for i in wanted[k]:
                samples[(k, i)] = float(alt[i])
    altaz = time.process_time() - c0

    c0 = time.process_time()
    moon = get_body("moon", times, loc)
    for k, t in enumerate(times):
        aa = targets.transform_to(AltAz(obstime=t, location=loc))
        _alt, _airmass = aa.alt.deg, aa.secz
        _sep = targets.separation(moon[k]).deg
    with_moon = time.process_time() - c0

    import astropy, erfa
    print(json.dumps({
        "altaz_cpu_s": altaz,
        "with_moon_cpu_s": with_moon,
        "samples": [samples[(t, i)] for t, i in spec["samples"]],
        "versions": {"astropy": astropy.__version__, "erfa": erfa.__version__, "numpy": np.__version__},
    }))


main()
