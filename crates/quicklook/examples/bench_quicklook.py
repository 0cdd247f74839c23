"""sep's side of examples/bench_quicklook.rs: times sep on the same raw frame.

usage: bench_quicklook.py FRAME.raw WIDTH HEIGHT REPS THRESH MINAREA

Times, per repetition, what a quick-look with sep costs: Background (64 px meshes,
3x3 filter), the background map subtracted from the frame, extract at THRESH x
globalrms. The caller sets OMP/OPENBLAS/MKL threads to 1; sep itself is
single-threaded. Prints JSON: median and best seconds of the whole and of each step.
"""
import json
import sys
import time

import numpy as np
import sep


def main():
    path, w, h, reps, thresh, minarea = sys.argv[1:7]
    raw = np.fromfile(path, dtype="<u2").reshape(int(h), int(w))
    # sep allocates its whole pixel stack on every extract call, so an oversized one
    # would bill sep for memory it does not need: find the smallest power-of-two
    # multiple of the default (300 000) that holds this frame, untimed, then time.
    stack = 300_000
    warm = raw.astype(np.float32)
    wb = sep.Background(warm)
    while True:
        sep.set_extract_pixstack(stack)
        try:
            sep.extract(warm - wb.back(), float(thresh), err=wb.globalrms, minarea=int(minarea))
            break
        except Exception as e:  # "internal pixel buffer full"
            if "pixel buffer full" not in str(e) or stack > 1 << 31:
                raise
            stack *= 2
    totals, backs, subs, extracts, counts = [], [], [], [], []
    plain_extracts = []
    for _ in range(int(reps)):
        t0 = time.perf_counter()
        # sep needs native floats; the conversion is part of sep's cost on u16 frames.
        data = raw.astype(np.float32)
        bkg = sep.Background(data)
        t1 = time.perf_counter()
        sub = data - bkg.back()
        t2 = time.perf_counter()
        objs = sep.extract(sub, float(thresh), err=bkg.globalrms, minarea=int(minarea))
        t3 = time.perf_counter()
        totals.append(t3 - t0)
        backs.append(t1 - t0)
        subs.append(t2 - t1)
        extracts.append(t3 - t2)
        counts.append(len(objs))
        # The same without deblending and cleaning (what teld-quicklook does), to show
        # how much of sep's time those take.
        t4 = time.perf_counter()
        plain = sep.extract(
            sub, float(thresh), err=bkg.globalrms, minarea=int(minarea),
            deblend_cont=1.0, clean=False,
        )
        plain_extracts.append(time.perf_counter() - t4)
    med = lambda v: float(np.median(v))
    json.dump(
        {
            "sep_version": sep.__version__,
            "median_s": med(totals),
            "best_s": min(totals),
            "background_s": med(backs),
            "subtract_s": med(subs),
            "extract_s": med(extracts),
            "extract_no_deblend_s": med(plain_extracts),
            "sources_no_deblend": len(plain),
            "sources": counts[-1],
            "globalback": float(bkg.globalback),
            "pixstack": stack,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
