"""Royalties: plays → prices → parties owed → append-only ledger → cycles, statements, remittances.

Four rooms, in the order money flows through them; each imports only the rooms before it:

* ``pricing``: rate cards, periods and eligibility (``rates``), the facts a batch of plays
  needs (``works``), who is owed a play's money (``split``), one play's price (``price``),
  pricing rows and ledger lines written idempotently with their reversals (``ledger``), the
  hourly pricing job (``run``), which ledger lines are money and which cycle pays each
  (``paid``), a ledger line back to its audio (``trace``);
* ``statements``: the files a cycle sends, in four steps: ``select`` what they are made of,
  shape and format each line (``formatting``), ``write`` a file per recipient (``workers``
  share them between processes), run by ``files`` for a cycle's folder; usage reports for
  partner societies (``usage``); the money per recipient and cycle that dashboards and
  reports show (``earnings``);
* ``cycles``: closing a cycle (``closing``), pool distribution (``pool``), what a cycle was
  computed from (``snapshot``), and ``process``, the job that closes a cycle and writes its files;
* ``suspense``: money held in suspense by age (``report``) and declaring it
  non-distributable (``declarations``).

``terms`` holds the words and defaults the command line offers, in a module that loads nothing.
"""
