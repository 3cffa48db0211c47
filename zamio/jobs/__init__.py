"""One adapter per job: the only code that knows the command line.

``bin/<job-name>`` runs ``zamio/jobs/<job_name>.py``'s ``JOB`` through the runner
(``zamio.runtime.runner``); the name is the same in every layer: script, module,
``job_runs.job_name``, ``crontab.txt`` and the systemd unit.  An adapter holds:

* its help text (the module docstring, shown by ``--help``) and ``add_arguments``;
* a frozen ``Settings`` dataclass and the function that builds it from the parsed
  arguments and the configuration, refusing bad values with a ``UsageError``;
* ``main(ctx)``: opens what the run needs and calls the domain with a connection or
  ``ctx.transaction``, the settings, and ``ctx`` as a
  :class:`~zamio.runtime.progress.Progress`; prints the job's report.

An adapter imports its stages inside the functions that use them (names needed only for
type hints under ``if TYPE_CHECKING:``), so that ``--help`` and a usage error answer before
the library loads: at the top it imports only the standard library, the runner, and the
small modules that hold the words and defaults its options offer (each stage's ``terms``,
``zamio.runtime.retention``; they load nothing).
``tests/shape/test_shape.py`` checks that no script's ``--help`` loads SQLAlchemy, numpy,
scipy, Jinja2, psycopg2 or requests.

Domain modules never import argparse, the runner or this package (the contracts
in ``setup.cfg`` check it).
"""
