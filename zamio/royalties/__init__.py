"""Royalties: plays → prices → parties owed → append-only ledger → cycles, statements, remittances.

Modules, in the order money flows through them:

* ``rates``: rate cards, time-of-day periods (station-local), eligibility rules;
* ``catalog``: the facts a batch of plays needs, loaded set-based;
* ``split``: who is owed a play's money and how much each gets (pure, exact);
* ``ledger``: pricing rows and ledger lines, written idempotently, reversals;
* ``calculate``: the hourly pricing job;
* ``pool``, ``cycle``, ``statements``, ``statement_workers``, ``usage_reports``: closing a royalty cycle;
* ``paid``: which ledger lines are money and which cycle pays each (line items, statements and every figure);
* ``earnings``: the money per recipient and cycle that dashboards and reports show (the statements' figures);
* ``snapshot``: what a cycle was computed from, recorded at the lock and checked before regenerating;
* ``suspense``, ``declarations``: money held in suspense by age; declaring it non-distributable;
* ``mappings``: ISRC → partner society; ``trace``: a ledger line back to its audio;
* ``reference``: CSV loaders for the reference data.
"""
