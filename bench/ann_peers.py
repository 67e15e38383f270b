"""Stock FAISS peers for bench/ann-peers.sh (Debian's python3-faiss 1.7.3), on a data set's base.f32 / queries.f32:
  - HNSW32 over full vectors, swept over efSearch;
  - IVF-PQ with a refine stage (IndexRefineFlat: exact re-ranking of k_factor x k candidates; and SQ8 re-ranking,
    the memory-lean form), swept over nprobe and k_factor.
Each setting: R@10 (share of queries whose exact nearest neighbour is among the 10 returned) against exact search
on the first 1,000 queries, p50/p99 of one query per search on one thread (each query's median over 3 passes),
queries/s on 2 threads (each searching one query at a time), bytes per vector of the serialized index, build time.
Also writes the exact neighbours (peers-truth.i64: 10 little-endian int64 per query) that the Lucene and imgvec rows
are scored against.

Usage: ann_peers.py <data dir> <out json> [pq m] [nlist]
"""
import json
import statistics
import sys
import threading
import time

import faiss
import numpy as np

QUERIES, K, PASSES, QPS_SECONDS = 1000, 10, 3, 5


def read(path, d):
    return np.fromfile(path, dtype="<f4").reshape(-1, d)


def exact(base, queries):
    flat = faiss.IndexFlatL2(base.shape[1])
    flat.add(base)
    faiss.omp_set_num_threads(2)
    _, ids = flat.search(queries, K)
    return ids


def recall_at_10(found, truth):
    return float(np.mean([truth[q, 0] in found[q] for q in range(len(truth))]))


def timed(index, queries):
    """Each query alone on one thread: per-query median over the passes, then p50 and p99 (ms); the results."""
    faiss.omp_set_num_threads(1)
    for q in range(20):
        index.search(queries[q:q + 1], K)
    times = [[] for _ in range(len(queries))]
    found = np.zeros((len(queries), K), dtype="int64")
    for _ in range(PASSES):
        for q in range(len(queries)):
            start = time.perf_counter()
            _, ids = index.search(queries[q:q + 1], K)
            times[q].append(time.perf_counter() - start)
            found[q] = ids[0]
    per_query = sorted(statistics.median(t) for t in times)
    pct = lambda p: per_query[max(0, -(-len(per_query) * p // 100) - 1)] * 1e3
    return pct(50), pct(99), found


def qps_two_threads(index, queries):
    faiss.omp_set_num_threads(1)
    counts = [0, 0]
    end = time.perf_counter() + QPS_SECONDS

    def run(t):
        q = t * 97
        while time.perf_counter() < end:
            index.search(queries[q % len(queries):q % len(queries) + 1], K)
            counts[t] += 1
            q += 1

    threads = [threading.Thread(target=run, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / QPS_SECONDS


def size_bytes(index):
    return len(faiss.serialize_index(index))


def measure(index, queries, truth, setting):
    p50, p99, found = timed(index, queries)
    row = dict(setting, recall_at_10=round(recall_at_10(found, truth), 4), p50_ms=round(p50, 4),
               p99_ms=round(p99, 4), qps_2_threads=round(qps_two_threads(index, queries), 1))
    print("[peers]", row, file=sys.stderr, flush=True)
    return row


def built(factory, base, train):
    faiss.omp_set_num_threads(2)
    start = time.perf_counter()
    index = faiss.index_factory(base.shape[1], factory)
    if not index.is_trained:
        index.train(train)
    index.add(base)
    return index, time.perf_counter() - start


def main(data, out, pq_m, nlist):
    d = int(open(f"{data}/dimension").read())
    base = read(f"{data}/base.f32", d)
    queries = read(f"{data}/queries.f32", d)[:QUERIES]
    truth = exact(base, queries)
    truth.astype("<i8").tofile(f"{data}/peers-truth.i64")
    train = base[np.random.default_rng(1).choice(len(base), min(len(base), 39 * nlist), replace=False)]
    engines = []

    hnsw, build_s = built("HNSW32", base, train)
    rows = []
    for ef in (16, 32, 64, 128, 256, 512):
        hnsw.hnsw.efSearch = ef
        rows.append(measure(hnsw, queries, truth, {"ef_search": ef}))
    engines.append({"engine": "FAISS HNSW32 (python3-faiss)", "factory": "HNSW32", "build_s": round(build_s, 1),
                    "bytes_per_vector": round(size_bytes(hnsw) / len(base), 1), "settings": rows})
    del hnsw

    for refine in ("RFlat", "Refine(SQ8)"):
        factory = f"IVF{nlist},PQ{pq_m},{refine}"
        index, build_s = built(factory, base, train)
        ivf = faiss.extract_index_ivf(index.base_index)  # 1.7.3 does not see through the IndexRefine
        rows = []
        for nprobe in (1, 2, 4, 8, 16, 32, 64):
            ivf.nprobe = nprobe
            for k_factor in (1, 2, 4, 8):
                index.k_factor = k_factor
                rows.append(measure(index, queries, truth, {"nprobe": nprobe, "k_factor": k_factor}))
        engines.append({"engine": f"FAISS IVF-PQ + {'exact' if refine == 'RFlat' else 'SQ8'} re-ranking"
                        " (python3-faiss)", "factory": factory, "build_s": round(build_s, 1),
                        "bytes_per_vector": round(size_bytes(index) / len(base), 1), "settings": rows})
        del index
    json.dump({"count": len(base), "dimension": d, "queries": len(queries), "engines": engines}, open(out, "w"),
              indent=1)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 5):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 48,
         int(sys.argv[4]) if len(sys.argv) > 4 else 1024)
