"""The same FAISS build and search with Debian's python3-faiss, for side-by-side ratios with imgvec; then
python3-faiss searching the index imgvec published, to separate the binding's cost from the index's.

Usage: faiss_python.py <data dir> <factory> <nprobe> <max codes> <train size> <metric L2|INNER_PRODUCT>
                       <k_factor> <imgvec version dir> <out json>
(k_factor > 0: imgvec's version re-ranks k x k_factor candidates against its SQ8 store; stock FAISS builds the same
factory with Refine(SQ8), and imgvec's index is re-ranked as imgvec does, by an IndexRefine over its store.)
"""
import gzip
import json
import os
import sys
import time

import faiss
import numpy as np

from faiss_measure import reranked

data, factory, nprobe, max_codes, train_size, metric, k_factor, version_dir, out = sys.argv[1:10]
nprobe, max_codes, train_size, k_factor = int(nprobe), int(max_codes), int(train_size), int(k_factor)
d = int(open(f"{data}/dimension").read())
xb = np.fromfile(f"{data}/base.f32", dtype="<f4").reshape(-1, d)
xq = np.fromfile(f"{data}/queries.f32", dtype="<f4").reshape(-1, d)[:1000]
faiss_metric = faiss.METRIC_L2 if metric == "L2" else faiss.METRIC_INNER_PRODUCT

flat = faiss.IndexFlat(d, faiss_metric)
flat.add(xb)
_, gt = flat.search(xq, 10)
del flat


def measure(index, position_of_id, nprobe=nprobe, max_codes=max_codes):
    """Single-query latency on one thread and recall against the exact neighbours (ids mapped to base rows)."""
    if nprobe > 0:
        ivf(index).nprobe = nprobe
        ivf(index).max_codes = max_codes
        if "_HNSW" in factory:  # the HNSW coarse quantizer must return nprobe centroids (imgvec: 2 x nprobe, >= 16)
            faiss.ParameterSpace().set_index_parameter(ivf(index), "quantizer_efSearch", max(16, 2 * nprobe))
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    for q in xq[:20]:
        index.search(q.reshape(1, -1), 10)
    lat, found = [], []
    t0 = time.time()
    for q in xq:
        t = time.perf_counter()
        _, ids = index.search(q.reshape(1, -1), 10)
        lat.append((time.perf_counter() - t) * 1000)
        found.append(np.where(ids[0] >= 0, position_of_id[ids[0]], -1))
    total = time.time() - t0
    faiss.omp_set_num_threads(threads)
    found = np.array(found)
    return {
        "recall_at_1": round(float(np.mean(found[:, 0] == gt[:, 0])), 4),
        "recall_at_10": round(float(np.mean([gt[i, 0] in found[i] for i in range(len(xq))])), 4),
        "ten_recall_at_10": round(float(np.mean([len(set(gt[i]) & set(found[i])) / 10 for i in range(len(xq))])), 4),
        "latency_p50_ms": round(float(np.percentile(lat, 50)), 4),
        "latency_p99_ms": round(float(np.percentile(lat, 99)), 4),
        "qps_one_thread": round(len(xq) / total, 1),
    }


def ivf(index):
    """The IVF index searched: 1.7.3 does not see through an IndexRefine."""
    return faiss.extract_index_ivf(index.base_index if isinstance(index, faiss.IndexRefine) else index)


def frontier(index, position_of_id, codes_per_probe):
    """R@10 and p99 over nprobe 1, 2, 3, 4, 6, 8, ... until p99 passes 3 ms or R@10 reaches 0.999."""
    points = []
    for p in [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256]:
        if p > ivf(index).nlist:
            break
        m = measure(index, position_of_id, p, int(codes_per_probe * p))
        points.append({"nprobe": p, "recall_at_10": m["recall_at_10"], "latency_p99_ms": m["latency_p99_ms"]})
        if m["latency_p99_ms"] > 3 or m["recall_at_10"] >= 0.999:
            break
    return points


index = faiss.index_factory(d, factory + (",Refine(SQ8)" if k_factor else ""), faiss_metric)
if k_factor:
    index.k_factor = k_factor
t = time.time()
if train_size > 0:
    sample = xb[np.random.default_rng(42).choice(len(xb), train_size, replace=False)]
    index.train(sample)
train_s = time.time() - t
t = time.time()
index.add(xb)  # ids 0..n-1 (IndexRefine in 1.7.3 takes no ids)
add_s = time.time() - t
result = {"factory": factory + (",Refine(SQ8)" if k_factor else ""), "k_factor": k_factor, "nprobe": nprobe, "max_codes": max_codes, "train_size": train_size,
          "train_s": round(train_s, 3), "add_s": round(add_s, 3)}
result.update(measure(index, np.arange(len(xb))))
result["bytes_per_vector"] = round(len(faiss.serialize_index(index)) / index.ntotal, 2)
if nprobe > 0:  # stock FAISS as its users get it: plain k-means lists, no codes cap
    result["frontier"] = frontier(index, np.arange(len(xb)), 0)
del index

# imgvec numbered vectors in its scan order; image_id "v<row>" maps each id back to its row of base.f32.
position_of_id = np.empty(len(xb), dtype="int64")
with gzip.open(os.path.join(version_dir, "ids.tsv.gz"), "rt") as ids:
    for line in ids:
        vector_id, image_id, _ = line.split("\t", 2)
        position_of_id[int(vector_id)] = int(image_id[1:])
ours = faiss.read_index(os.path.join(version_dir, "index.faiss"))
if k_factor:
    ours = reranked(ours, os.path.join(version_dir, "vectors.sq8"), k_factor, metric)
result["on_imgvec_index"] = measure(ours, position_of_id)
if nprobe > 0:
    result["on_imgvec_index"]["frontier"] = frontier(ours, position_of_id, max_codes / nprobe)
json.dump(result, open(out, "w"), indent=2)
print("[bench] python-faiss", result)
