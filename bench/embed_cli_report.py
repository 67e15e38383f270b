"""Summarises bench/embed-cli.sh's runs: medians per setting, fixed start-up vs steady state, CPU bound."""
import json
import statistics
import sys

runs_file, cpu_file, small, large = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
runs = [json.loads(line) for line in open(runs_file)]
cpu = json.load(open(cpu_file))


def median(label, images, key):
    return statistics.median(r[key] for r in runs if r["label"] == label and r["images"] == images)


def start_up_and_steady_state(label):
    """Fixed start-up and steady state of a setting run at both sizes, from the difference of the two."""
    wall_small, wall_large = median(label, small, "wall_s"), median(label, large, "wall_s")
    steady_s_per_image = (wall_large - wall_small) / (large - small)
    return {
        "wall_s": {str(small): wall_small, str(large): wall_large},
        "images_per_s_end_to_end": {str(small): round(small / wall_small, 1), str(large): round(large / wall_large, 1)},
        "fixed_startup_s": round(wall_small - small * steady_s_per_image, 2),
        "steady_state_images_per_s": round(1 / steady_s_per_image, 1),
        f"wall_{small}_over_its_steady_state_time": round(wall_small / (small * steady_s_per_image), 2),
        "process_cpu_ms_per_image": round(1000 * median(label, large, "cpu_s") / large, 2),
        "marginal_cpu_ms_per_image": round(1000 * (median(label, large, "cpu_s")
                                                   - median(label, small, "cpu_s")) / (large - small), 2),
    }


defaults = start_up_and_steady_state("defaults")
settings = {label: round(large / median(label, large, "wall_s"), 1)
            for label in dict.fromkeys(r["label"] for r in runs) if label != "spark-runner"}
best = max(settings, key=settings.get)
report = {
    "benchmark": "embed-cli",
    "what": "fresh bin/imgvec embed processes, wall time from command start; medians of the repeats",
    "cores": cpu["cores"],
    "images": [small, large],
    "defaults": defaults,
    "spark_runner": start_up_and_steady_state("spark-runner"),
    "cpu_costs_apart_from_spark": cpu,
    "steady_state_over_cpu_bound": round(defaults["steady_state_images_per_s"] / cpu["bound_images_per_s"], 3),
    f"images_per_s_at_{large}_by_setting": settings,
    "best_setting": best,
    "defaults_over_best": round(settings["defaults"] / settings[best], 3),
    "runs": runs,
}
print(json.dumps(report, indent=2))
