"""How well ``zamio.recognition.content`` tells music from speech, advertisements and noise.

    nice -n 10 python3 bench/music_bench.py            # the shipped model on the held-out clips
    nice -n 10 python3 bench/music_bench.py --fit      # fit on the training clips, print the weights

Every clip is 20 s (a scan's capture), encoded to MP3 by ffmpeg and decoded by zamio's
own decoder, as a stream capture is.  Five kinds, each split into a training half and
a held-out half that share no source:

* ``song``: generated songs (``zamio.demo.synth``), some with noise or sped up;
  training and held-out seeds differ.
* ``real``: excerpts of recorded music, the Debian package ``wesnoth-1.16-music``
  (orchestral and folk pieces; the bench's real-music corpus), split by piece.  Left out
  when the package is not installed.
* ``speech``: ``espeak-ng`` reading radio talk, news and advertisement copy in several
  voices and languages, a fifth of it as a caller on the telephone (300 to 3,400 Hz,
  clipped); texts and voices of the held-out half are not in the training half.
* ``ad``: speech of the same kind read over a music bed (a song or a recorded piece)
  6 to 18 dB under the voice, a fifth of them 3 to 6 dB under.
* ``noise``: white, pink and brown noise, mains hum, static with crackle, a test tone,
  a fading carrier.

It prints, for the held-out clips, the confusion of the five kinds against the three
verdicts, the precision and recall of ``music``, and the share of the clips called
music that are speech or advertisements (talk must not pass for music).  ``--fit``
fits the multinomial logistic model on the training half (class-balanced, its L2
weight chosen by 5-fold cross-validation on that half) and prints the constants
``content.py`` ships.  The decoded clips are cached in ``--work`` (default
``/tmp/zamio-music-bench``, about 400 MB), so a change of the features costs a minute
of measuring, not the rendering again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zamio.demo import synth  # noqa: E402
from zamio.recognition import audio, content  # noqa: E402

CLIP_SECONDS = 20.0
REAL_MUSIC = Path("/usr/share/games/wesnoth/1.16/data/core/music")
REAL_SKIP = ("defeat", "victory", "silence", "frantic-old", "battle-epic")  # stings, near-silence, duplicates
KINDS = ("song", "real", "speech", "ad", "noise")
TRUTH = {"song": "music", "real": "music", "speech": "speech", "ad": "speech", "noise": "noise"}

TEXTS = [
    "Good morning Accra, you are listening to the breakfast show, and it is seven fifteen on a bright Monday.",
    "Traffic update: the motorway is slow from Tema to the toll booth, so give yourself an extra twenty minutes.",
    "In the news this hour, the central bank held its policy rate, saying inflation is easing for a third month.",
    "Call us now on zero three zero two, double four, five six seven, and tell us what you think about the match.",
    "Are you tired of paying too much for data? Switch today and get double bundles every weekend, only on Star.",
    "The weather for Kumasi: scattered showers in the afternoon, highs of thirty one degrees, light winds.",
    "That was a big one from the new album, and we have got plenty more coming your way after the break.",
    "Parliament resumes on Tuesday, when members will debate the budget statement presented last week.",
    "Visit the Makola furniture fair this Saturday: beds, chairs and tables at prices you will not believe.",
    "Our caller from Takoradi says the fishing season has been good, but fuel prices are eating the profit.",
    "The Black Stars will face Nigeria on Friday night, kick off at eight, live on this station.",
    "Remember to wash your hands and keep your compound clean; a message from the Ministry of Health.",
    "Sunshine Bakery: fresh bread every morning, sweet bread, tea bread and butter bread, on Ring Road.",
    "We are taking your requests all afternoon, so send a message with your name and the song you want.",
    "Cocoa farmers in the Western Region have received their bonuses, the board confirmed on Monday.",
    "Here is a story that made us smile: a teacher in Ho rode twenty kilometres to bring books to her pupils.",
    "Save big at Melcom this festive season, with up to forty percent off electronics and kitchenware.",
    "The power distribution company says maintenance work will cut supply in parts of Dansoman tomorrow.",
    "It is now eleven o clock, and here are the headlines, read by Kofi Mensah in the newsroom.",
    "Thank you for staying with us, the afternoon drive continues with the best of highlife and hiplife.",
    "The minister said the new road will link three districts and cut the journey to market by half.",
    "Listen carefully, because the first ten callers win tickets to the concert at the National Theatre.",
    "Doctors advise that children under five should sleep under treated nets throughout the rainy season.",
    "The exchange rate today: the cedi traded at around fifteen to the dollar at the interbank market.",
    "Tonight on the late show, we speak with the author of a new book about life in the northern savannah.",
    "For the best insurance for your car and your family, talk to us at Enterprise, we are here for you.",
    "Students sitting the examinations are reminded to arrive one hour early with their index numbers.",
    "The market women of Kaneshie have asked the assembly for better drainage before the rains arrive.",
    "Stay tuned, because after the news we have an exclusive interview with the coach of Hearts of Oak.",
    "Bonjour a tous, il est huit heures et voici les informations de la matinee sur notre antenne.",
    "Guten Morgen, hier sind die Nachrichten: der Verkehr in der Stadt ist heute morgen sehr dicht.",
    "Habari za asubuhi, karibu kwenye kipindi chetu cha muziki na habari za michezo leo.",
]
TRAIN_VOICES = ["en+m1", "en+f2", "en-us+m3", "en-gb-x-rp+f4", "en-029+m5", "en+klatt", "fr-fr+m2", "sw+m4"]
HELD_VOICES = ["en+m7", "en+f3", "en-us+f1", "en-gb-scotland+m2", "en+klatt3", "de+m6", "en-us+croak", "sw+f5"]


def clip_specs(half: str, counts: dict[str, int]) -> list[dict]:
    """The clips of one half (``train`` or ``held``): plain descriptions, rendered in workers."""
    held = half == "held"
    rng = np.random.default_rng(2 if held else 1)
    texts = [t for i, t in enumerate(TEXTS) if (i % 3 == 2) == held]
    voices = HELD_VOICES if held else TRAIN_VOICES
    pieces = [p for i, p in enumerate(real_pieces()) if (i % 3 == 2) == held]
    seed0 = 50_000 if held else 10_000
    specs: list[dict] = []

    def talk() -> dict:
        chosen = [str(t) for t in rng.choice(texts, size=3, replace=False)]
        return {"text": " ".join(chosen), "voice": str(rng.choice(voices)), "speed": int(rng.integers(140, 200)),
                "pitch": int(rng.integers(30, 70))}

    def bed(k: int) -> dict:
        if pieces and rng.random() < 0.5:
            return {"piece": str(rng.choice(pieces)), "start": float(rng.uniform(5, 60))}
        return {"song": seed0 + 5000 + k}

    for k in range(counts["song"]):
        specs.append({"kind": "song", "seed": seed0 + k, "snr": float(rng.choice([0, 0, 30, 20, 12])),
                      "speed": int(rng.choice([0, 0, 0, 2, -3, 5]))})
    for k in range(counts["real"] if pieces else 0):
        specs.append({"kind": "real", "piece": pieces[k % len(pieces)], "start": float(rng.uniform(0, 90)),
                      "snr": float(rng.choice([0, 0, 25]))})
    for _ in range(counts["speech"]):
        specs.append({"kind": "speech", **talk(), "snr": float(rng.choice([0, 0, 35, 25]))})
    for k in range(counts["ad"]):
        specs.append({"kind": "ad", **talk(), "bed": bed(k), "bed_db": float(rng.uniform(-18, -6))})
    for k in range(counts["noise"]):
        specs.append({"kind": "noise", "noise": str(rng.choice(NOISES)), "seed": seed0 + k,
                      "level_db": float(rng.uniform(-45, -12))})
    for k, spec in enumerate(specs):
        spec["bitrate"] = int((48, 64, 96, 128)[k % 4])
    # The harder talk: callers on the telephone, and advertisements whose bed is nearly as loud as the voice.
    rng = np.random.default_rng(4 if held else 3)
    hard: list[dict] = []
    for _ in range(counts["speech"] // 4):
        hard.append({"kind": "speech", **talk(), "snr": float(rng.choice([0, 25, 15])), "phone": True})
    for k in range(counts["ad"] // 4):
        hard.append({"kind": "ad", **talk(), "bed": bed(1000 + k), "bed_db": float(rng.uniform(-6, -3))})
    for k, spec in enumerate(hard):
        spec["bitrate"] = int((48, 64, 96, 128)[k % 4])
    return specs + hard


def real_pieces() -> list[str]:
    if not REAL_MUSIC.is_dir():
        return []
    return sorted(str(p) for p in REAL_MUSIC.glob("*.ogg") if not p.stem.startswith(REAL_SKIP))


# -- rendering ------------------------------------------------------------------------------------


def render(spec: dict) -> np.ndarray:
    """The clip a spec describes, at ``synth.SYNTH_RATE``, before the MP3 round trip."""
    kind, rate = spec["kind"], synth.SYNTH_RATE
    n = int(CLIP_SECONDS * rate)
    if kind == "song":
        x = synth.song(spec["seed"], seconds=CLIP_SECONDS * 1.1)
        if spec["speed"]:
            x = synth.change_speed(x, spec["speed"])
        x = _fit(x, n)
        return synth.add_noise(x, spec["snr"], spec["seed"]) if spec["snr"] else x
    if kind == "real":
        x = _excerpt(spec["piece"], spec["start"], n)
        return synth.add_noise(x, spec["snr"], 7) if spec["snr"] else x
    if kind in ("speech", "ad"):
        voice = _fit(_speak(spec), n)
        if spec.get("phone"):
            voice = _telephone(voice, rate)
        if kind == "speech":
            return synth.add_noise(voice, spec["snr"], 11) if spec["snr"] else voice
        b = spec["bed"]
        music = _excerpt(b["piece"], b["start"], n) if "piece" in b else _fit(synth.song(b["song"], CLIP_SECONDS), n)
        gain = np.sqrt(_power(voice) / max(_power(music), 1e-12) * 10 ** (spec["bed_db"] / 10))
        return (voice + gain * music).astype(np.float32)
    return _noise(spec["noise"], spec["seed"], n, rate) * np.float32(10 ** (spec["level_db"] / 20))


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """``n`` samples: cut, or repeated when shorter (a long read, a looped bed)."""
    if x.size == 0:
        return np.zeros(n, np.float32)
    return np.resize(x, n).astype(np.float32) if x.size < n else x[:n].astype(np.float32)


def _telephone(x: np.ndarray, rate: int) -> np.ndarray:
    """A caller on the line: 300 to 3,400 Hz, a little clipped."""
    from scipy.signal import butter, sosfilt

    band = sosfilt(butter(4, [300, 3400], btype="band", fs=rate, output="sos"), x)
    peak = float(np.max(np.abs(band))) or 1.0
    return (np.clip(band / peak * 1.4, -1, 1) * 0.7).astype(np.float32)


def _power(x: np.ndarray) -> float:
    return float(np.mean(np.square(x, dtype=np.float64)))


def _excerpt(path: str, start: float, n: int) -> np.ndarray:
    cmd = ["ffmpeg", "-v", "error", "-ss", f"{start:.2f}", "-t", f"{CLIP_SECONDS}", "-i", path, "-ac", "1",
           "-ar", str(synth.SYNTH_RATE), "-f", "f32le", "-"]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    return _fit(np.frombuffer(raw, np.float32), n)


def _speak(spec: dict) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "voice.wav"
        subprocess.run(["espeak-ng", "-v", spec["voice"], "-s", str(spec["speed"]), "-p", str(spec["pitch"]),
                        "-g", "4", "-w", str(wav), spec["text"]], check=True, capture_output=True)
        samples = audio.decode_file(wav)  # 8 kHz: back up to the clip rate, as a studio would send it
    return audio.resample(samples, audio.ANALYSIS_RATE, synth.SYNTH_RATE) * np.float32(0.8)


NOISES = ("white", "pink", "brown", "hum", "static", "tone", "carrier")


def _noise(name: str, seed: int, n: int, rate: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(n)
    t = np.arange(n) / rate
    if name == "white":
        x = white
    elif name in ("pink", "brown"):
        spectrum = np.fft.rfft(white)
        f = np.maximum(np.fft.rfftfreq(n, 1 / rate), 1.0)
        x = np.fft.irfft(spectrum / (np.sqrt(f) if name == "pink" else f), n)
    elif name == "hum":
        base = float(rng.choice([50.0, 60.0]))
        x = sum(np.sin(2 * np.pi * base * h * t) / h for h in range(1, 8)) + 0.3 * white
    elif name == "static":
        clicks = (rng.random(n) < 0.002) * rng.standard_normal(n) * 8
        x = 0.5 * white + clicks
    elif name == "tone":
        x = np.sin(2 * np.pi * float(rng.choice([440.0, 1000.0])) * t) + 0.05 * white
    else:  # a carrier fading in and out under hiss
        x = white * (0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t))
    x = np.asarray(x, np.float64)
    return (x / max(float(np.max(np.abs(x))), 1e-9)).astype(np.float32)


def as_capture(x: np.ndarray, bitrate: int) -> np.ndarray:
    """The clip as the scanner hears it: MP3 at ``bitrate`` kbit/s, decoded by zamio's decoder."""
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2").tobytes()
    cmd = ["ffmpeg", "-v", "error", "-f", "s16le", "-ar", str(synth.SYNTH_RATE), "-ac", "1", "-i", "-",
           "-b:a", f"{bitrate}k", "-f", "mp3", "-"]
    mp3 = subprocess.run(cmd, input=pcm, capture_output=True, check=True).stdout
    return audio.decode_bytes(mp3, format_hint="mp3", name="clip")


#: Raise when a spec's clip is rendered differently: decoded clips are cached by it and the spec.
RENDER_VERSION = 1


def clip_path(spec: dict, work: Path) -> Path:
    key = hashlib.sha256(json.dumps({**spec, "render": RENDER_VERSION}, sort_keys=True).encode()).hexdigest()
    return work / "clips" / f"{key[:24]}.npy"


def captured(spec: dict, work: Path) -> np.ndarray | None:
    """The decoded capture of a spec (16-bit, cached in ``work``), or None when it is silent:
    the scanner records such a capture as silence and never asks whether it is music."""
    path = clip_path(spec, work)
    if not path.exists():
        try:
            samples = as_capture(render(spec), spec["bitrate"])
        except audio.SilentAudio:
            samples = np.zeros(0, np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part.npy")
        np.save(partial, np.clip(np.round(samples * 32767), -32768, 32767).astype(np.int16))
        partial.replace(path)
    pcm = np.load(path)
    return pcm.astype(np.float32) / np.float32(32767) if pcm.size else None


def measure(job: tuple[dict, Path]) -> tuple[list[float] | None, float]:
    """The clip's features and the CPU seconds they took (decoded samples in, as in the scanner)."""
    samples = captured(*job)
    if samples is None:
        return None, 0.0
    started = time.process_time()
    found = content.features(samples)
    return (None if found is None else found.tolist()), time.process_time() - started


def dataset(half: str, counts: dict[str, int], work: Path, jobs: int) -> tuple[list[dict], np.ndarray, list[float]]:
    specs = clip_specs(half, counts)
    todo = sum(not clip_path(s, work).exists() for s in specs)
    print(f"{half}: {len(specs)} clips, {todo} to render; measuring with {jobs} processes", file=sys.stderr)
    with ProcessPoolExecutor(jobs) as pool:
        results = list(pool.map(measure, [(s, work) for s in specs], chunksize=4))
    kept = [(s, r) for s, r in zip(specs, results, strict=True) if r[0] is not None]
    return [s for s, _ in kept], np.array([r[0] for _, r in kept]), [r[1] for _, r in kept]


# -- fitting and reporting ------------------------------------------------------------------------


L2_CHOICES = (1e-1, 1e-2, 1e-3, 1e-4)
FOLDS = 5


def fit_chosen(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """``fit`` with the L2 weight of least cross-validated log-loss on these clips alone."""
    folds = np.random.default_rng(0).integers(0, FOLDS, labels.size)
    losses = {}
    for l2 in L2_CHOICES:
        p = np.zeros((labels.size, len(content.CLASSES)))
        for k in range(FOLDS):
            means, scales, w = fit(x[folds != k], labels[folds != k], l2)
            p[folds == k] = content.probabilities(x[folds == k], w, means, scales)
        losses[l2] = -float(np.mean(np.log(p[np.arange(labels.size), labels])))
    chosen = min(losses, key=lambda l2: losses[l2])
    print("cross-validated log-loss by L2: " + ", ".join(f"{k:g}: {v:.4f}" for k, v in losses.items())
          + f"; chosen {chosen:g}")
    return fit(x, labels, chosen)


def fit(x: np.ndarray, labels: np.ndarray, l2: float, steps: int = 20000) -> tuple[np.ndarray, ...]:
    """A class-balanced multinomial logistic regression by gradient descent on standardised features."""
    means, scales = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - means) / scales
    k = len(content.CLASSES)
    y = np.eye(k)[labels]
    weight = (1.0 / np.bincount(labels, minlength=k))[labels]
    weight = weight / weight.sum()
    w = np.zeros((k, z.shape[1] + 1))
    for _ in range(steps):
        p = content.probabilities(x, w, means, scales)
        g = (p - y) * weight[:, None]
        grad = np.hstack([g.T @ z, g.sum(axis=0)[:, None]])
        grad[:, :-1] += l2 * w[:, :-1]
        w -= 0.5 * grad
    return means, scales, w


def verdicts(x: np.ndarray, model: tuple[np.ndarray, ...] | None) -> list[str]:
    p = content.probabilities(x) if model is None else content.probabilities(x, model[2], model[0], model[1])
    return [content.decide(row).kind for row in p]


def report(specs: list[dict], said: list[str], label: str) -> dict[str, float]:
    kinds = [s["kind"] for s in specs]
    print(f"\n{label}: {len(specs)} clips of {CLIP_SECONDS:g} s")
    print(f"{'kind':8} {'clips':>6} " + " ".join(f"{c:>7}" for c in content.CLASSES) + "   correct")
    for kind in KINDS:
        rows = [v for k, v in zip(kinds, said, strict=True) if k == kind]
        if not rows:
            continue
        counts = [rows.count(c) for c in content.CLASSES]
        right = rows.count(TRUTH[kind])
        shares = " ".join(f"{c:7d}" for c in counts)
        print(f"{kind:8} {len(rows):6d} {shares}   {100 * right / len(rows):6.1f} %")
    called = [k for k, v in zip(kinds, said, strict=True) if v == "music"]
    music = [k for k in kinds if TRUTH[k] == "music"]
    hit = sum(TRUTH[k] == "music" for k in called)
    talk = sum(k in ("speech", "ad") for k in called)
    figures = {"precision": hit / len(called) if called else 0.0, "recall": hit / len(music) if music else 0.0,
               "talk_share": talk / len(called) if called else 0.0}
    for kind in ("speech", "ad", "noise"):
        total = kinds.count(kind)
        figures[f"{kind}_as_music"] = sum(k == kind for k in called) / total if total else 0.0
    print(f"music: precision {100 * figures['precision']:.1f} %, recall {100 * figures['recall']:.1f} %; "
          f"speech or ads among clips called music {100 * figures['talk_share']:.2f} % "
          f"(speech {100 * figures['speech_as_music']:.1f} %, ads {100 * figures['ad_as_music']:.1f} %, "
          f"noise {100 * figures['noise_as_music']:.1f} % of their clips called music)")
    return figures


def sweep(specs: list[dict], x: np.ndarray, model: tuple[np.ndarray, ...] | None) -> None:
    """Precision, recall and talk among the clips called music, for thresholds around the shipped one."""
    p = content.probabilities(x) if model is None else content.probabilities(x, model[2], model[0], model[1])
    music = np.array([TRUTH[s["kind"]] == "music" for s in specs])
    talk = np.array([s["kind"] in ("speech", "ad") for s in specs])
    print("threshold  precision  recall  talk among music")
    for threshold in (0.5, 0.6, 0.7, content.MUSIC_THRESHOLD, 0.8, 0.9):
        called = p[:, 0] >= threshold
        n = int(called.sum())
        precision = float((called & music).sum()) / n if n else 0.0
        recall = float((called & music).sum()) / max(int(music.sum()), 1)
        print(f"{threshold:9.2f}  {100 * precision:8.1f} %  {100 * recall:5.1f} %  "
              f"{100 * float((called & talk).sum()) / max(n, 1):6.2f} %")


def cost(specs: list[dict], work: Path) -> dict[str, float]:
    """CPU per clip of judging it, against computing its query fingerprint (the first step of
    recognising any capture today, before the index is read), on the same decoded clips."""
    from zamio.recognition.query import query_fingerprint

    judge, query = [], []
    for spec in specs:
        samples = captured(spec, work)
        if samples is None:
            continue
        started = time.process_time()
        content.classify(samples)
        judge.append(time.process_time() - started)
        started = time.process_time()
        query_fingerprint(samples)
        query.append(time.process_time() - started)
    figures = {"judge_ms": 1000 * float(np.median(judge)), "query_fingerprint_ms": 1000 * float(np.median(query))}
    print(f"cost on {len(judge)} clips (median CPU): judging {figures['judge_ms']:.0f} ms, the query "
          f"fingerprint every capture already pays {figures['query_fingerprint_ms']:.0f} ms")
    return figures


def print_model(model: tuple[np.ndarray, ...]) -> None:
    means, scales, w = model

    def row(values: np.ndarray, indent: str) -> str:
        return "[\n" + textwrap.fill(", ".join(f"{v:.6g}" for v in values), 100, initial_indent=indent + "    ",
                                     subsequent_indent=indent + "    ") + f",\n{indent}]"

    print("\n# Fitted by bench/music_bench.py --fit (standardisation, then one row of weights per class).")
    print(f"_MEANS = np.array({row(means, '')})")
    print(f"_SCALES = np.array({row(scales, '')})")
    print("_WEIGHTS = np.array([\n" + "".join(f"    {row(r, '    ')},\n" for r in w) + "])")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fit", action="store_true", help="fit on the training half and print the model")
    parser.add_argument("--per-kind", type=int, default=80, help="clips per kind and half (default 80)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/zamio-music-bench"))
    parser.add_argument("--json", type=Path, help="also write the held-out figures here")
    parser.add_argument("--cost", type=int, default=24, help="clips timed for the cost figures (0: none)")
    args = parser.parse_args(argv)
    counts = dict.fromkeys(KINDS, args.per_kind)
    counts["noise"] = max(20, args.per_kind * 2 // 3)
    if not real_pieces():
        print(f"no recorded music at {REAL_MUSIC} (Debian package wesnoth-1.16-music): songs only", file=sys.stderr)
    model = None
    if args.fit:
        train_specs, train_x, _ = dataset("train", counts, args.work, args.jobs)
        labels = np.array([content.CLASSES.index(TRUTH[s["kind"]]) for s in train_specs])
        model = fit_chosen(train_x, labels)
        report(train_specs, verdicts(train_x, model), "training clips, fitted model")
        print_model(model)
    held_specs, held_x, cpu = dataset("held", counts, args.work, args.jobs)
    figures = report(held_specs, verdicts(held_x, model), "held-out clips" + (", fitted model" if model else ""))
    sweep(held_specs, held_x, model)
    figures["cpu_ms_per_clip"] = 1000 * float(np.mean(cpu))
    print(f"features: {figures['cpu_ms_per_clip']:.0f} ms of CPU per {CLIP_SECONDS:g} s clip (mean)")
    if args.cost:
        figures.update(cost(held_specs[:: max(1, len(held_specs) // args.cost)], args.work))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
