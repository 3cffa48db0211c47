#!/usr/bin/env python3
"""Two catalog recordings that share material, head to head (``match.HEAD_TO_HEAD``): where do
an excerpt's peaks stand on each? (a script, not a test)

    nice -n 10 .venv/bin/python bench/versions_bench.py --second /work/corpus2 \\
        --pair catalog/freedroidrpg-data__HellFortressTwo.wav catalog/freedroidrpg-data__HellFortressEntrance.wav

Indexes the second catalog beside DEV's as ``bench/verify_bench.py`` does, then answers 10 s
excerpts of both recordings of the pair, one every ``--step`` seconds, clean and at SNR 5 and
0 dB, in ``verify_bench``'s ``scored`` mode: every head-to-head answer is given whatever the
lead, with the share of agreeing peaks of each recording.  Prints one line per excerpt and
writes ``--out/versions_<database>.json``.  ``--beside`` indexes more catalogs: a folder
whose manifest lists a held-out track of CORPUS as its catalog puts two mixes of one piece
side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from bench.broadcast_bench import with_noise  # noqa: E402
from bench.speed_bench import machine_load  # noqa: E402
from bench.verify_bench import RESULTS, rule  # noqa: E402

CONDITIONS = {"clean": None, "snr5": 5.0, "snr0": 0.0}


def share(agreement: dict | None) -> float | None:
    return None if agreement is None else round(agreement["agreeing"] / max(agreement["peaks"], 1), 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/tmp/dev" if os.path.exists("/tmp/dev") else "/work/corpus")
    ap.add_argument("--second", required=True, metavar="CORPUS")
    ap.add_argument("--pair", nargs=2, required=True, metavar="FILE", help="two catalog files, paths in CORPUS")
    ap.add_argument("--beside", nargs="*", default=[], metavar="FOLDER",
                    help="more prepared corpora whose catalogs are indexed too")
    ap.add_argument("--step", type=float, default=5.0)
    ap.add_argument("--database", default="sqlite", metavar="URL")
    ap.add_argument("--workdir", default="/tmp/zamio-versions-work")
    ap.add_argument("--out", default=RESULTS)
    a = ap.parse_args()
    from bench.fingerprint_bench import warm_catalog
    from zamio.recognition import audio
    from zamio.recognition.index import identify

    os.makedirs(a.workdir, exist_ok=True)
    load_before = machine_load()
    system, _ = warm_catalog(a.second, a.database, a.workdir, (a.corpus, *a.beside))
    records = []
    try:
        for name in a.pair:
            x = audio.decode_file(os.path.join(a.second, name))
            rate = audio.ANALYSIS_RATE
            for start in np.arange(0.0, x.size / rate - 10.0, a.step):
                clip = x[int(start * rate):int((start + 10.0) * rate)]
                for condition, snr in CONDITIONS.items():
                    samples = clip if snr is None else with_noise(clip, snr, int(start))
                    with rule("scored"), system.conn.begin():
                        found = identify(system.conn, samples.astype(np.float32), system.cache)
                    answer = None if found is None else os.path.basename(system.track_paths[found.track_id])
                    record = {"track": name, "start": float(start), "condition": condition, "answer": answer,
                              "evidence": None if found is None else round(found.evidence, 2),
                              "share": share(None if found is None or found.agreement is None
                                             else vars(found.agreement)),
                              "rival_share": share(None if found is None or found.rival_agreement is None
                                                   else vars(found.rival_agreement))}
                    records.append(record)
                    print(json.dumps(record), flush=True)
    finally:
        system.close()
    headline = (f"versions of {' and '.join(a.pair)}, {len(records)} excerpts, scored ({system.name}), warm: "
                f"catalog of {len(system.track_paths)} tracks, every one's pairs in the pair cache; "
                f"{os.cpu_count()} cores, {load_before} before, {machine_load()} after")
    json.dump({"headline": headline, "records": records},
              open(os.path.join(a.out, f"versions_{system.name.removeprefix('zamio-')}.json"), "w"), indent=0)


if __name__ == "__main__":
    main()
