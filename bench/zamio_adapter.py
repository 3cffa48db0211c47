"""zamio under the shared fingerprinting benchmark (``shared/bench/run_bench.py``).

    python3 /work/shared/bench/run_bench.py --system bench.zamio_adapter:ZamioFingerprinter \\
        --corpus /work/corpus --workdir /tmp/zw --out results/zamio_dev.json

run from the repository root (so ``bench`` and ``zamio`` import).  The index is an
in-memory ``zamio.match.ArrayIndex`` reached through its ``lookup`` callable, exactly
as the database store will be; ``index_size_bytes`` reports the rows as int4 triples
written to ``workdir`` (the PostgreSQL size is measured by ``fingerprint_bench.py``).
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.environ.get("SHARED_BENCH", "/work/shared/bench"))

from adapters import Fingerprinter  # noqa: E402

from zamio import audio, fingerprint, match  # noqa: E402


class ZamioFingerprinter(Fingerprinter):
    """zamio's engine: decode with ``zamio.audio``, index side ``fingerprint``, query
    side ``query_fingerprint`` + ``match``."""

    name = "zamio"
    warm = True

    def __init__(self, workdir, **params):
        super().__init__(workdir, **params)
        self.store = match.ArrayIndex()
        self.paths: list[str] = []
        self.trace: list[dict] = []

    def version(self):
        return f"fingerprint v{fingerprint.FINGERPRINT_VERSION}"

    def config(self):
        return {"rate": audio.ANALYSIS_RATE, "index": vars(fingerprint.INDEX_PROFILE),
                "query": vars(fingerprint.QUERY_PROFILE), **self.params}

    def index(self, paths):
        for track_id, path in enumerate(paths):
            fp = fingerprint.fingerprint(audio.decode_file(path))
            self.store.add(track_id, fp.hashes, fp.offsets)
            self.paths.append(path)
        h, t, o = self.store.rows()
        np.stack([h, t, o], axis=1).astype("<i4").tofile(os.path.join(self.workdir, "rows.i4"))

    def query(self, path):
        q = fingerprint.query_fingerprint(audio.decode_file(path))
        result = match.match(q, self.store.lookup)
        if result is None:
            return None, 0.0
        return self.paths[result.track_id], result.evidence
