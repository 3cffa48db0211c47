#!/usr/bin/env bash
# Build the second real-music corpus (catalog/, heldout/, queries-confusers/) into DIR
# (default /work/corpus2): the music of free games packaged by Debian, for the confuser bench
# (bench/confuser_bench.py).  Deterministic: the same packages give the same corpus.
#
#   bench/get-second-corpus.sh [DIR]            # the tracks of bench/lists/second.list
#   RELIST=1 bench/get-second-corpus.sh [DIR]   # choose the tracks again (writes the list)
#
# Needs root for apt-get, ffmpeg, espeak-ng, and the DEV corpus at $DEV (default /work/corpus,
# from /work/shared/bench/get-dev-corpus.sh): no track of this corpus may be a DEV track.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-/work/corpus2}"
dev="${DEV:-/work/corpus}"
shared="${SHARED_BENCH:-/work/shared/bench}"
PY="${PYTHON:-$here/../.venv/bin/python}"
list="$here/lists/second.list"
packages="asc-music btanks-data colobot-common-sounds drascula-music extremetuxracer-data fb-music-high fillets-ng-data
  flare-game freeciv-data freecol fretsonfire-songs-muldjord fretsonfire-songs-sectoid funnyboat holotz-castle-data
  freedroidrpg-data frozen-bubble-data hedgewars-data lincity-ng-data lugaru-data megaglest-data neverball-data
  naev-data openclonk-data scorched3d-data supertux-data supertuxkart-data widelands-data
  xmoto-data"
[ -f "$out/queries-confusers/queries.json" ] && [ -z "${RELIST:-}" ] && { echo "$out is ready"; exit 0; }
need=""
for p in ffmpeg espeak-ng $packages; do dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"; done
if [ -n "$need" ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends $need >/dev/null; fi
if [ -n "${RELIST:-}" ] || [ ! -f "$list" ]; then
  nice -n 10 "$PY" "$here/second_corpus.py" list "$list" --dev "$dev"
fi
# Decoded as DEV is (mono 16-bit WAV at 22050 Hz); a seeded tenth held out as negatives.
nice -n 10 "$PY" "$shared/prepare_corpus.py" "$out" --list "$list" --seed 2 --min-dur 30 --holdout 0.1
nice -n 10 "$PY" "$here/second_corpus.py" queries "$out" --dev "$dev"
echo "$out is ready: $(ls "$out"/catalog | wc -l) catalog tracks, $(ls "$out"/heldout | wc -l) held out"
