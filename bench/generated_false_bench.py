"""Are generated songs the catalog lacks taken for generated songs it holds?

    nice -n 10 .venv/bin/python bench/generated_false_bench.py

The generated stand-ins of ``bench/unknown_week_bench.py`` (``zamio.demo.synth``, seeds 7000 to
7011, 180 s each) share the generator's drum pattern, and in one broadcast week every capture of
G-7011 (left out of the catalog) was named G-7008.  Here the seeds of ``--catalog`` are indexed in
a scratch SQLite database through the real jobs (``bin/migrate``, ``bin/import-catalog`` with the
rendered WAV files, ``bin/auto-fingerprint-new-tracks``); excerpts of the left-out seeds
(``--left-out``) and, as a control, of the catalog's own, of 20 s and 10 s every ``--step``
seconds, are encoded as MP3 128 kbit/s by ffmpeg (as a stream serves them) and answered by the
scanner's recogniser (``zamio.recognition.changeover.identify_capture``: the whole capture, then
its halves).  Each answer names the pass that gave it: ``nominal`` (speed 1 alone), ``usual``
(the usual varispeeds against every hypothesis's rivals), ``every`` (every hypothesis), ``few``
(the usual varispeeds against the rivals there are) or ``halves``.

Prints a Markdown table and writes ``generated_false.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from zamio.db.engine import open_engine  # noqa: E402
from zamio.db.url import parse_database_url  # noqa: E402
from zamio.demo import synth  # noqa: E402
from zamio.recognition import changeover, index, match  # noqa: E402
from zamio.recognition.audio import decode_file  # noqa: E402
from zamio.recognition.match import CANDIDATES, MatchResult, recognise  # noqa: E402
from zamio.recognition.query import QUERY_PROFILE, query_fingerprint  # noqa: E402

SECONDS = 180.0  # as the week's generated songs
LEFT_OUT = (7001, 7009, 7011)


def passes(conn: object, samples: np.ndarray, cache: index.PairCache) -> tuple[str, MatchResult | None]:
    """The answer ``identify_capture`` gives, with the pass it came from (the passes of
    ``index.identify_query`` one by one, then the halves)."""
    query = query_fingerprint(samples, QUERY_PROFILE)
    lookup = index._CachingLookup(index.make_lookup(conn))  # type: ignore[arg-type]
    pairs = index.pairs_of(conn, cache)  # type: ignore[arg-type]
    steps = (
        ("nominal", lambda: recognise(index.nominal_only(query), lookup, pairs, min_candidates=CANDIDATES,
                                      near_speed=False)),
        ("usual", lambda: index.usual_against_every_rival(query, lookup, pairs)),
        ("every", lambda: recognise(query, lookup, pairs, min_candidates=CANDIDATES)),
        ("few", lambda: index._with_the_rivals_there_are(query, lookup, pairs)),
        ("halves", lambda: changeover.identify_halves(conn, samples, cache)),  # type: ignore[arg-type]
    )
    for name, step in steps:
        found = step()
        if found is not None:
            return name, found
    return "none", None


def load_catalog(folder: Path, seeds: list[int]) -> str:
    url = f"sqlite:///{folder / 'catalog.db'}"
    env = {**os.environ, "DATABASE_URL": url, "ZAMIO_VAR_DIR": str(folder / "var"),
           "ZAMIO_ENV_FILE": str(folder / "bench.env")}
    (folder / "var").mkdir(exist_ok=True)
    (folder / "bench.env").touch()
    tracks = folder / "tracks.csv"
    with tracks.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["track_ref", "title", "artist", "audio_path"])
        for seed in seeds:
            wav = folder / f"G-{seed}.wav"
            synth.write_wav(str(wav), synth.song(seed, SECONDS))
            out.writerow([f"G-{seed}", f"Generated {seed}", f"Artist G-{seed}", str(wav)])
    for job in (["migrate"], ["import-catalog", "--tracks", str(tracks), "-q"], ["auto-fingerprint-new-tracks", "-q"]):
        subprocess.run([sys.executable, str(ROOT / "bin" / job[0]), *job[1:]], env=env, check=True,
                       capture_output=True, text=True)
    return url


def excerpt(folder: Path, seed: int, start: float, seconds: float) -> Path:
    """An MP3 128 kbit/s excerpt of a generated song, decoded back as the scanner decodes a capture."""
    wav = folder / f"q-{seed}.wav"
    if not wav.exists():
        synth.write_wav(str(wav), synth.song(seed, SECONDS))
    mp3 = folder / f"q-{seed}-{start:g}-{seconds:g}.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{start:g}", "-t", f"{seconds:g}", "-i", str(wav),
                    "-c:a", "libmp3lame", "-b:a", "128k", str(mp3)], check=True)
    return mp3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--left-out", type=int, nargs="+", default=list(LEFT_OUT))
    parser.add_argument("--step", type=float, default=10.0, help="seconds between excerpt starts")
    parser.add_argument("--controls", type=int, default=2, help="catalog seeds also queried, as a check")
    parser.add_argument("--verify-below", type=float, default=match.VERIFY_BELOW,
                        help="give every answer below this evidence the second look (the matcher's own: %(default)s)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    match.VERIFY_BELOW = args.verify_below
    catalog = [s for s in range(7000, 7012) if s not in args.left_out]
    rows = []
    with tempfile.TemporaryDirectory(prefix="zamio-genfp-") as tmp:
        folder = Path(tmp)
        url = load_catalog(folder, catalog)
        engine = open_engine(parse_database_url(url))
        cache = index.PairCache()
        with engine.connect() as conn:
            refs = dict(conn.execute(text("SELECT id, track_ref FROM tracks")).all())
            for seed in [*args.left_out, *catalog[: args.controls]]:
                for seconds in (20.0, 10.0):
                    for start in np.arange(0.0, SECONDS - seconds, args.step):
                        samples = decode_file(excerpt(folder, seed, float(start), seconds))
                        name, found = passes(conn, samples, cache)
                        rows.append({
                            "seed": seed, "catalog": seed in catalog, "seconds": seconds, "start": float(start),
                            "pass": name, "answer": refs[found.track_id] if found else None,
                            "evidence": round(found.evidence, 2) if found else None,
                            "aligned": found.aligned if found else None,
                            "speed": round(found.speed, 4) if found else None,
                            "coverage": round(found.agreement.coverage, 3) if found and found.agreement else None,
                            "own_agreeing": (round(found.agreement.own_agreeing / max(found.agreement.own, 1), 3)
                                             if found and found.agreement else None),
                        })
    args.out.mkdir(parents=True, exist_ok=True)
    name = "generated_false.json" if args.verify_below == 4.0 else f"generated_false_verify{args.verify_below:g}.json"
    (args.out / name).write_text(json.dumps({"load": os.getloadavg(), "verify_below": args.verify_below,
                                             "rows": rows}, indent=1))
    names = ", ".join(f"G-{seed}" for seed in catalog)
    print(f"load average {os.getloadavg()[0]:.1f}; second look below {args.verify_below:g}; catalog {names}"
          " (the pair cache kept across excerpts: warm after the first)\n")
    print("| song | in catalog | clip | excerpts | answered | right | wrong | wrong: pass, evidence |")
    print("|---|---|---|---|---|---|---|---|")
    for seed in [*args.left_out, *catalog[: args.controls]]:
        for seconds in (20.0, 10.0):
            mine = [r for r in rows if r["seed"] == seed and r["seconds"] == seconds]
            wrong = [r for r in mine if r["answer"] not in (None, f"G-{seed}")]
            detail = ", ".join(f"{r['answer']} {r['pass']} {r['evidence']}" for r in wrong)
            print(f"| G-{seed} | {seed in catalog} | {seconds:g} s | {len(mine)} | "
                  f"{sum(r['answer'] is not None for r in mine)} | {sum(r['answer'] == f'G-{seed}' for r in mine)} | "
                  f"{len(wrong)} | {detail} |")


if __name__ == "__main__":
    main()
