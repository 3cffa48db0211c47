"""The files a catalog import can load, in a module that imports nothing, so that ``bin/import-catalog --help``
and its usage errors name them without loading the importer (``imports`` uses them from here)."""

from __future__ import annotations

#: The files an import can load, in loading order (a file may refer to rows of an earlier one).
IMPORT_ORDER = ("societies", "tracks", "artists", "stations", "contributors", "agreements", "repertoire",
                "rate_cards", "exchange_rates", "licence_fees", "commission_rates", "withholding_rates", "payees")
