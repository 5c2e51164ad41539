"""pgqueuer's tables, declared here so queries and test clean-up can name them.

pgqueuer owns their shape (migration 0008 runs its own install DDL); only the columns
this service reads are declared.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Table, Text
from sqlalchemy.dialects.postgresql import ENUM

from ecommerce.models.base import Base

JOB_STATUS = ENUM(
    "queued",
    "picked",
    "successful",
    "exception",
    "canceled",
    "deleted",
    "failed",
    name="pgqueuer_status",
    create_type=False,
)

job_table = Table(
    "pgqueuer",
    Base.metadata,
    Column("id", BigInteger, primary_key=True),
    Column("entrypoint", Text, nullable=False),
    Column("status", JOB_STATUS, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("execute_after", DateTime(timezone=True), nullable=False),
    Column("dedupe_key", Text),
    info={"owner": "pgqueuer"},
)

job_log_table = Table(
    "pgqueuer_log",
    Base.metadata,
    Column("id", BigInteger, primary_key=True),
    Column("created", DateTime(timezone=True), nullable=False),
    info={"owner": "pgqueuer"},
)

job_statistics_table = Table(
    "pgqueuer_statistics",
    Base.metadata,
    Column("id", BigInteger, primary_key=True),
    info={"owner": "pgqueuer"},
)

job_schedules_table = Table(
    "pgqueuer_schedules",
    Base.metadata,
    Column("id", BigInteger, primary_key=True),
    info={"owner": "pgqueuer"},
)
