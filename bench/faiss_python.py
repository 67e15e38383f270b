"""The same FAISS build and search with Debian's python3-faiss, for side-by-side ratios with imgvec.

Usage: faiss_python.py <data dir> <factory> <nprobe> <max codes> <train size> <metric L2|INNER_PRODUCT> <out json>
"""
import json
import sys
import time

import faiss
import numpy as np

data, factory, nprobe, max_codes, train_size, metric, out = sys.argv[1:8]
nprobe, max_codes, train_size = int(nprobe), int(max_codes), int(train_size)
d = int(open(f"{data}/dimension").read())
xb = np.fromfile(f"{data}/base.f32", dtype="<f4").reshape(-1, d)
xq = np.fromfile(f"{data}/queries.f32", dtype="<f4").reshape(-1, d)[:1000]
faiss_metric = faiss.METRIC_L2 if metric == "L2" else faiss.METRIC_INNER_PRODUCT

flat = faiss.IndexFlat(d, faiss_metric)
flat.add(xb)
_, gt = flat.search(xq, 10)
del flat

index = faiss.index_factory(d, factory, faiss_metric)
t = time.time()
if train_size > 0:
    sample = xb[np.random.default_rng(42).choice(len(xb), train_size, replace=False)]
    index.train(sample)
train_s = time.time() - t
t = time.time()
index.add_with_ids(xb, np.arange(len(xb), dtype="int64"))
add_s = time.time() - t
if nprobe > 0:
    faiss.extract_index_ivf(index).nprobe = nprobe
    faiss.extract_index_ivf(index).max_codes = max_codes

faiss.omp_set_num_threads(1)
for q in xq[:20]:
    index.search(q.reshape(1, -1), 10)
lat, found = [], []
t0 = time.time()
for q in xq:
    t = time.perf_counter()
    _, ids = index.search(q.reshape(1, -1), 10)
    lat.append((time.perf_counter() - t) * 1000)
    found.append(ids[0])
total = time.time() - t0
found = np.array(found)
r1 = float(np.mean(found[:, 0] == gt[:, 0]))
r10 = float(np.mean([gt[i, 0] in found[i] for i in range(len(xq))]))
inter = float(np.mean([len(set(gt[i]) & set(found[i])) / 10 for i in range(len(xq))]))
result = {
    "factory": factory, "nprobe": nprobe, "max_codes": max_codes, "train_size": train_size,
    "train_s": round(train_s, 3), "add_s": round(add_s, 3),
    "recall_at_1": round(r1, 4), "recall_at_10": round(r10, 4), "ten_recall_at_10": round(inter, 4),
    "latency_p50_ms": round(float(np.percentile(lat, 50)), 4),
    "latency_p99_ms": round(float(np.percentile(lat, 99)), 4),
    "qps_one_thread": round(len(xq) / total, 1),
    "bytes_per_vector": round(len(faiss.serialize_index(index)) / index.ntotal, 2),
}
json.dump(result, open(out, "w"), indent=2)
print("[bench] python-faiss", result)
