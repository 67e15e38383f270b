"""imgvec from a Python notebook.

The interface is the launcher's, documented in the README: Spark SQL over a run's outputs through
`bin/imgvec sql` (rows come back as JSON lines, here as a pandas DataFrame), neighbours through `bin/imgvec query`,
and pictures drawn with matplotlib. Each call is one imgvec command, so what a notebook shows is what the jobs
and the CLI see.
"""
import json
import os
import pathlib
import subprocess
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

ROOT = pathlib.Path(os.environ.get("IMGVEC_HOME", pathlib.Path(__file__).resolve().parent.parent))


def imgvec(*args):
    """Runs `bin/imgvec <args>`; returns its stdout. A failure raises with imgvec's one-line reason."""
    p = subprocess.run([str(ROOT / "bin" / "imgvec"), *map(str, args)], capture_output=True, text=True)
    if p.returncode != 0:
        reasons = [line for line in p.stderr.splitlines() if line.startswith("imgvec ") or "hint:" in line]
        raise RuntimeError("\n".join(reasons) or p.stderr[-2000:])
    return p.stdout


def sql(query, run=None, views=None):
    """Spark SQL over a run's views (embeddings, errors, live_embeddings) and `views` ({name: uri})."""
    args = ["sql", "--query", query]
    if run:
        args += ["--run", run]
    if views:
        args += ["--views", ",".join(f"{k}={v}" for k, v in views.items())]
    rows = [json.loads(line) for line in imgvec(*args).splitlines() if line.startswith("{")]
    return pd.DataFrame(rows)


def vectors(frame, column="embedding"):
    """The embedding column as an (n, d) float32 array."""
    return np.array(frame[column].tolist(), dtype=np.float32)


def neighbours(index, image, k=5):
    """The k nearest neighbours of an image in a published index (rank, image_id, uri, distance)."""
    summary = json.loads(imgvec("query", "--index", index, "--image", image, "-k", k).strip().splitlines()[-1])
    return pd.DataFrame(summary["neighbors"])


def local_path(uri):
    """A file: URI (or a plain path) as a local path."""
    return unquote(urlparse(uri).path) if uri.startswith("file:") else uri


def show(uris, titles=None, ncols=5, size=2.4):
    """Draws images in a grid, titled; returns the figure."""
    import matplotlib.pyplot as plt
    from PIL import Image, ImageOps

    n = len(uris)
    rows = max(1, (n + ncols - 1) // ncols)
    fig, axes = plt.subplots(rows, ncols, figsize=(ncols * size, rows * size), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, uri in enumerate(uris):
        ax = axes.flat[i]
        with Image.open(local_path(uri)) as img:
            ax.imshow(ImageOps.exif_transpose(img).convert("RGB"))
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    fig.tight_layout()
    return fig
