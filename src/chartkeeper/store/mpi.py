"""The master patient index review queue and its queries (used by `chartkeeper.quality.mpi`)."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text

from chartkeeper.store.base import ID, STAMP, TYPE, metadata

# --- master patient index review queue (chartkeeper.quality.mpi.queue): candidate duplicate
# pairs that scored between the review and the auto-link thresholds, one row per pair
# (`pair_key` is "a|b" with a < b, unique, so a rescan refreshes the open row instead of
# queueing the pair twice). A decided row keeps its verdict: "not-a-match" rows are fed back
# into later scans so the pair is never linked automatically.

mpi_review = Table(
    "mpi_review",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pair_key", String(2 * (TYPE + ID + 1) + 1), nullable=False),
    Column("a", String(TYPE + ID + 1), nullable=False),  # "Patient/<id>"
    Column("b", String(TYPE + ID + 1), nullable=False),
    Column("probability", Float, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON: levels and Bayes factors per field
    Column("status", String(16), nullable=False),  # open | linked | not-a-match
    Column("found", String(STAMP), nullable=False),  # first queued
    Column("scanned", String(STAMP), nullable=False),  # last seen by a scan
    Column("decided", String(STAMP)),
    Column("reviewer", String(64)),
    Column("note", Text),
)
Index("ux_mpi_review_pair", mpi_review.c.pair_key, unique=True)
Index("ix_mpi_review_status", mpi_review.c.status, mpi_review.c.probability)
