"""Projects a distributed build-index of 1B x 512 vectors from per-vector costs measured on this machine.

Measured here (python3-faiss, the same Debian FAISS 1.7.3 as imgvec's shim, one thread):
  - adding to IVF65536_HNSW32,PQ64np (the index such a build would make: an HNSW coarse quantizer, since scanning
    65,536 centroids of 512 floats per vector would cost 40x more), per vector;
  - exact ground truth (brute force, FAISS Flat) per query x base vector at 512-d.
Measured by bench/index-cluster.sh (10M x 128 on the standalone cluster): the sample scan per vector (on the
executors, or on the driver in runs before sampling moved there) and the merge per vector. The driver's training is
timed at its full 1B size by TrainingAtScale (39 x 65,536 vectors of 512-d, trained as build-index trains them) on
this machine's cores, and taken as it is (a driver with more vCPUs would train faster).

Usage: projection_1b.py <index-cluster.json> <instances.json> <training.json> <out json>
"""
import json
import sys
import time

import faiss
import numpy as np

cluster_file, instances_file, training_file, out_file = sys.argv[1:5]
training = json.load(open(training_file))
cluster = json.load(open(cluster_file))
instances = {i["name"]: i for i in json.load(open(instances_file))["instances"]}

N, D, NLIST, M, QUERIES = 1_000_000_000, 512, 65536, 64, 1000
TRAIN = 39 * NLIST  # index.train-points-per-centroid x nlist
NODE = instances["m7i.8xlarge"]
rng = np.random.default_rng(1)

# Add cost: centroids are sample vectors (k-means would place them better; the assignment costs the same).
faiss.omp_set_num_threads(2)
quantizer = faiss.IndexHNSWFlat(D, 32)
quantizer.add(rng.standard_normal((NLIST, D), dtype="float32"))
index = faiss.IndexIVFPQ(quantizer, D, NLIST, M, 8)
index.train(rng.standard_normal((20000, D), dtype="float32"))
faiss.omp_set_num_threads(1)
xb = rng.standard_normal((20000, D), dtype="float32")
t = time.perf_counter()
index.add(xb)
add_us = (time.perf_counter() - t) / len(xb) * 1e6

# Ground truth: brute force of the held-out queries over every base vector.
flat = faiss.IndexFlatL2(D)
flat.add(rng.standard_normal((100_000, D), dtype="float32"))
queries = rng.standard_normal((QUERIES, D), dtype="float32")
t = time.perf_counter()
flat.search(queries, 10)
truth_us_per_base = (time.perf_counter() - t) / flat.ntotal * 1e6  # all QUERIES against one base vector

# From the cluster run (10M x 128): sample and merge costs per vector.
run = cluster["runs"]["distributed_2"]
n_bench = cluster["count"]
timings = run["timings"]
sampled_on_executors = run.get("vectors_through_driver", n_bench) < n_bench
# core-microseconds per vector: on the executors every core scans; the scan moves D floats a row
sample_us = (timings["sample_s"] * (run["executors"] if sampled_on_executors else 1) / n_bench * 1e6
             * (D / cluster["dimension"]))
merge_us = timings["merge_s"] / n_bench * 1e6 * ((M + 8) / (32 + 8))  # merged bytes per vector
codes_gb = N * (M + 8) / 1e9
node_gb = NODE["memory_gib"] * 1.073741824
shard_limit_gb = node_gb / 2  # index.max-shard-bytes default: half the driver's memory (heap aside)
shards = int(np.ceil(codes_gb / shard_limit_gb))
train_s = training["train_s"]

projection = {}
for nodes in (10, 20, 40):
    cores = nodes * NODE["vcpus"]
    executor_us = add_us + truth_us_per_base + (sample_us if sampled_on_executors else 0)
    executor_h = N * executor_us / 1e6 / cores / 3600
    driver_h = (N * ((0 if sampled_on_executors else sample_us) + merge_us) / 1e6 + train_s) / 3600
    hours = executor_h + driver_h
    projection[f"{nodes}_nodes"] = {
        "instance": NODE["name"], "vcpus": cores, "executors_h": round(executor_h, 2), "driver_h": round(driver_h, 2),
        "hours": round(hours, 2),
        "usd_ec2": round(hours * (nodes + 1) * NODE["usd_per_hour"], 2),
    }

report = {
    "target": "1B x 512, IVF65536_HNSW32,PQ64np (72 bytes per vector with its id)",
    "measured_here": {
        "add_us_per_vector_one_thread": round(add_us, 2),
        "truth_us_per_base_vector_for_1000_queries": round(truth_us_per_base, 2),
        "sample_scan_core_us_per_vector": round(sample_us, 3),
        "sampled_on": "executors" if sampled_on_executors else "driver",
        "merge_us_per_vector_on_driver": round(merge_us, 3),
        "training_s_full_size_this_machine": training["train_s"],
        "training_cores": training["cores"],
    },
    "memory": {
        "codes_gb": round(codes_gb, 1), "shard_limit_gb": round(shard_limit_gb, 1), "shards": shards,
        "executor_task_gb": "trained copy (~0.2 GB with the PQ tables) + its partition's codes (64 MB of input is "
                            "about 31k vectors: 2 MB of codes)",
        "driver_gb": f"one shard while merging (~{codes_gb / shards:.0f} GB), then shards mapped from files",
    },
    "training_h_on_driver": round(train_s / 3600, 2),
    "executors_do": "sample scan, add, exact truth" if sampled_on_executors else "add, exact truth",
    "driver_does": "k-means, merge" if sampled_on_executors else "sample scan, k-means, merge",
    "projection": projection,
    "assumptions": [
        "per-core speed on " + NODE["name"] + " equals this machine's (cpu_speed_vs_here = 1)",
        "add and ground truth scale linearly over executor cores (2 executors over 1: "
        + str(cluster.get("add_speedup_2_over_1_executors", "not measured in this run")) + ")",
        "training and the merge run on the driver and do not parallelise across nodes",
        "training takes what it took here at full size on " + str(training["cores"]) + " cores (two-level k-means on 39"
        " x nlist points, balanced lists, PQ); sample scan cost scales with the dimension, merge with code bytes",
        "EC2 on-demand prices from conf/instances.json, nodes + 1 driver; EMR's fee and S3 are extra",
    ],
}
json.dump(report, open(out_file, "w"), indent=2)
print(json.dumps(report, indent=2))
