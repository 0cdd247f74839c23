"""alpyca's side of bench_download: Camera.ImageArray timed N times on one server.
usage: bench_download.py HOST:PORT N   -> prints JSON {"times": [...seconds]}"""
import json
import sys
import time

from alpaca.camera import Camera

addr, n = sys.argv[1], int(sys.argv[2])
cam = Camera(addr, 0)
times = []
for _ in range(n):
    t = time.perf_counter()
    img = cam.ImageArray
    times.append(time.perf_counter() - t)
# Touch the result so nothing is left lazy.
print(json.dumps({"times": times, "shape": [len(img), len(img[0])]}))
