"""Projects a distributed build-index of 1B x 512 vectors from costs measured on this machine.

Measured at the 1B build's full size by TrainingAtScale (imgvec's FAISS shim, the index such a build makes:
IVF65536_HNSW32,PQ64np, an HNSW coarse quantizer since scanning 65,536 centroids of 512 floats per vector would cost
40x more): the driver's training (39 x 65,536 vectors, two-level k-means, balanced lists, PQ) on this machine's cores,
taken as it is (a driver with more vCPUs would train faster); per vector on one thread, the add into that trained
index and the exact ground truth (brute force of the held-out queries over a block of base vectors).
Measured by bench/index-cluster.sh (10M x 128 on the standalone cluster): the sample scan per vector (on the
executors, or on the driver in runs before sampling moved there) and the merge per vector.

Usage: projection_1b.py <index-cluster.json> <instances.json> <at-scale.json> <out json>
"""
import json
import math
import sys

cluster_file, instances_file, scale_file, out_file = sys.argv[1:5]
scale = json.load(open(scale_file))
cluster = json.load(open(cluster_file))
instances = {i["name"]: i for i in json.load(open(instances_file))["instances"]}

N, D, NLIST, M = 1_000_000_000, 512, 65536, 64
NODE = instances["m7i.8xlarge"]
add_us = scale["add_us_per_vector_one_thread"]
truth_us_per_base = scale["truth_us_per_base_vector_for_1000_queries_one_thread"]

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
shards = math.ceil(codes_gb / shard_limit_gb)
train_s = scale["train_s"]

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
        "training_s_full_size_this_machine": train_s,
        "training_cores": scale["cores"],
    },
    "memory": {
        "codes_gb": round(codes_gb, 1), "shard_limit_gb": round(shard_limit_gb, 1), "shards": shards,
        "executor_task_gb": "trained copy (~0.2 GB with the PQ tables) + its partition's codes (64 MB of input is "
                            "about 31k vectors: 2 MB of codes)",
        "driver_heap_gb": round(3 * (scale["train_points"] + 2 * 1000) * D * 4 / 1e9, 1),
        "driver_heap": "the training sample and held-out queries, three copies at the peak (the resource plan's "
                       "driver_sample_heap_bytes): --driver-memory above it",
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
        "training takes what it took here at full size on " + str(scale["cores"]) + " cores (two-level k-means on 39"
        " x nlist points, balanced lists, PQ); sample scan cost scales with the dimension, merge with code bytes",
        "EC2 on-demand prices from conf/instances.json, nodes + 1 driver; EMR's fee and S3 are extra",
    ],
}
json.dump(report, open(out_file, "w"), indent=2)
print(json.dumps(report, indent=2))
