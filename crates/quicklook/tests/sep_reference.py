"""sep's measurement of a raw frame, as JSON on stdout, for tests/vs_sep.rs.

usage: sep_reference.py FRAME.raw WIDTH HEIGHT DTYPE THRESH MINAREA

The frame is read as numpy DTYPE (e.g. '<u2'), converted to float32 and measured the
way sep's documentation shows: Background with its defaults (64 px meshes, 3x3
filter), then extract on the background-subtracted image at THRESH x globalrms with
the default 3x3 filter kernel.
"""
import json
import sys

import numpy as np
import sep


def main():
    path, w, h, dtype, thresh, minarea = sys.argv[1:7]
    data = np.fromfile(path, dtype=dtype).reshape(int(h), int(w)).astype(np.float32)
    # Whole crowded frames exceed sep's default pixel stack (300 000 pixels).
    sep.set_extract_pixstack(20_000_000)
    bkg = sep.Background(data)
    sub = data - bkg.back()
    objs = sep.extract(sub, float(thresh), err=bkg.globalrms, minarea=int(minarea))
    cols = ("x", "y", "a", "b", "theta", "peak", "cpeak", "thresh", "flux", "npix", "flag")
    out = {
        "sep_version": sep.__version__,
        "globalback": float(bkg.globalback),
        "globalrms": float(bkg.globalrms),
        "sources": {c: objs[c].tolist() for c in cols},
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
