"""Stamps a benchmark's results file with where its figures come from: date, commit, command, machine and settings,
written first so a reader sees them before the numbers. The commit gains "+changes" when tracked files outside
bench/results differed from it during the run.
Usage: python3 bench/provenance.py RESULTS_FILE "COMMAND" "SETTINGS" [--recorded DATE COMMIT]
(--recorded: a file measured earlier, stamped with the date and commit it was recorded at.)"""
import datetime
import json
import os
import platform
import subprocess
import sys


def git(*args):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, check=True).stdout.strip()


def current_commit():
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results")
    return git("rev-parse", "--short", "HEAD") + ("+changes" if changed else "")


def machine():
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal:"))
    return f"{os.cpu_count()} cores, {round(mem_kb / 1024 / 1024)} GB, {platform.system()} {platform.release()}"


def main(path, command, settings, recorded=None):
    results = json.load(open(path))
    date, commit = recorded or (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                current_commit())
    stamp = {"date": date, "commit": commit, "command": command, "machine": machine(), "settings": settings}
    stamped = {**stamp, **{k: v for k, v in results.items() if k not in stamp}}
    with open(path, "w") as out:
        json.dump(stamped, out, indent=2)
        out.write("\n")


if __name__ == "__main__":
    if len(sys.argv) not in (4, 7) or (len(sys.argv) == 7 and sys.argv[4] != "--recorded"):
        sys.exit(__doc__)
    main(*sys.argv[1:4], recorded=tuple(sys.argv[5:7]) if len(sys.argv) == 7 else None)
