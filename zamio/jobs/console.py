"""The console scripts a ``pip install .`` puts on the environment's PATH: one per job, named as in ``bin/``.

Each runs its job module's ``JOB`` through the runner, as the script of the same name in
``bin/`` does for a checkout.  The job's module is imported only when its command runs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import NoReturn

from zamio.runtime.runner import run


def _command(module: str) -> Callable[[], NoReturn]:
    def main() -> NoReturn:
        sys.exit(run(importlib.import_module(f"zamio.jobs.{module}").JOB))

    main.__name__ = main.__qualname__ = module
    return main


auto_fingerprint_new_tracks = _command("auto_fingerprint_new_tracks")
backup = _command("backup")
batch_fingerprint_tracks = _command("batch_fingerprint_tracks")
calculate_royalty_distributions = _command("calculate_royalty_distributions")
cleanup_old_data = _command("cleanup_old_data")
cleanup_old_fingerprints = _command("cleanup_old_fingerprints")
convert_matches = _command("convert_matches")
correct_plays = _command("correct_plays")
detect_audio = _command("detect_audio")
disputes = _command("disputes")
export_playlogs = _command("export_playlogs")
generate_analytics_report = _command("generate_analytics_report")
identify_unknown = _command("identify_unknown")
import_catalog = _command("import_catalog")
import_playlogs = _command("import_playlogs")
migrate = _command("migrate")
payouts = _command("payouts")
process_royalty_cycle = _command("process_royalty_cycle")
restore = _command("restore")
scan_station_streams = _command("scan_station_streams")
send_emails = _command("send_emails")
send_weekly_summaries = _command("send_weekly_summaries")
suspense_report = _command("suspense_report")
update_pro_mappings = _command("update_pro_mappings")
warm_cache = _command("warm_cache")
zamio_status = _command("zamio_status")
