"""Measures a published imgvec index version again with stock FAISS (Debian's python3-faiss), independently of
imgvec's code, the way its manifest's latency_measurement says it was measured: the published held-out queries
(heldout.tsv.gz), one query per search on one thread, k + 1 results with the query itself left out (it was added
after measuring), a warm-up, passes spaced as the manifest says, then each query's median time over the passes and
the p50 and p99 of those.
Usage: /usr/bin/python3 bench/faiss_measure.py <version dir> [--no-max-codes]
(--no-max-codes: search as a reader that ignores the manifest's max_codes, which FAISS does not store in its files.)
Prints one JSON object."""
import csv
import gzip
import json
import statistics
import sys
import time

import faiss
import numpy as np


def held_out(path):
    with gzip.open(path, "rt") as f:
        rows = list(csv.reader(f, delimiter="\t"))[1:]
    ids = np.array([int(r[1]) for r in rows])
    exact = [[int(x) for x in r[2].split(",") if x] for r in rows]
    vectors = np.array([[float(x) for x in r[3].split(",")] for r in rows], dtype="float32")
    return ids, exact, vectors


def main(version_dir, use_max_codes):
    manifest = json.load(open(f"{version_dir}/manifest.json"))
    method = manifest["latency_measurement"]
    index = faiss.read_index(f"{version_dir}/index.faiss")
    faiss.omp_set_num_threads(method["threads"])
    ivf = faiss.extract_index_ivf(index)
    ivf.nprobe = method["search_parameters"]["nprobe"]
    if use_max_codes:
        ivf.max_codes = method["search_parameters"]["max_codes"]
    ids, exact, queries = held_out(f"{version_dir}/{method['queries_file']}")
    k = method["k"]
    for q in range(method["warm_up_queries"]):
        index.search(queries[q:q + 1], k + 1)
    times = [[] for _ in range(len(queries))]
    for p in range(method["passes"]):
        if p > 0:
            time.sleep(method["pause_between_passes_ms"] / 1e3)
        found = []
        for q in range(len(queries)):
            start = time.perf_counter()
            _, labels = index.search(queries[q:q + 1], k + 1)
            times[q].append(time.perf_counter() - start)
            found.append([int(x) for x in labels[0] if x != ids[q]][:k])
    per_query = sorted(statistics.median(t) for t in times)
    p50, p99 = (per_query[max(0, -(-len(per_query) * pct // 100) - 1)] * 1e3 for pct in (50, 99))
    recall = sum(1 for q, f in enumerate(found) if exact[q] and exact[q][0] in f) / len(found)
    print(json.dumps({"version": manifest["version"], "factory": manifest["index"]["factory"],
                      "max_codes_set": use_max_codes, "queries": len(queries), "recall_at_10": round(recall, 4),
                      "latency_p50_ms": round(p50, 4), "latency_p99_ms": round(p99, 4),
                      "reported": {k2: manifest["metrics"][k2] for k2 in
                                   ("recall_at_10", "latency_p50_ms", "latency_p99_ms")}}))


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] != "--no-max-codes"):
        sys.exit(__doc__)
    main(sys.argv[1], len(sys.argv) == 2)
