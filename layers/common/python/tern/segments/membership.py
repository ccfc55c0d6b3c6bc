"""Refreshing a segment's stored membership: a workflow (statemachines/refresh_segment.asl.json) that writes
the new evaluation's manifest and then only the difference, in batches, at any size.

The steps, and what a crash or a failure between any two of them leaves:

1. begin: mark the segment evaluating and note the new manifest pending (conditional on the version read,
   and refused while another evaluation runs: one refresh at a time)   -> membership untouched
2. Athena UNLOADs the members to the manifest's folder (`manifest_sql`) -> files nobody reads yet
3. Athena computes the difference against the committed manifest and every pending one (`difference_sql`)
4. a Distributed Map writes its puts and deletes, a byte range of the result per batch
                                                                        -> membership partly moved
5. commit: latest = this evaluation, no pending, and the history row, in one transaction

The committed manifest always describes the membership readers were promised. After a failure in step 4
the stored membership M lies between the committed manifest C and the pending ones P1..Pk:
C ∩ P1 ∩ .. ∩ Pk ⊆ M ⊆ C ∪ P1 ∪ .. ∪ Pk (a pending manifest is whole before any write toward it begins; one
whose UNLOAD failed half way only makes the next refresh put or delete a few contacts more than needed). The
next refresh to a new set N therefore puts N − (C ∩ P..) and deletes (C ∪ P..) − N, which lands exactly on N
whatever the crash left: it converges. `plan` states that rule; `difference_sql` is it, run by Athena (tested
against `plan`). Joined and left in the history are always against C, the last committed membership.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlglot
from sqlglot import exp

from tern.engines import QueryEngine
from tern.segments.compiler import compile_segment
from tern.segments.segment import Segment

# The difference's columns, as Athena's CSV result has them: every row carries the totals, so the first
# row tells the workflow how many members, joiners and leavers there are without another pass.
DIFFERENCE_COLUMNS = ["contact_id", "op", "members", "joined", "left"]
PUT, DELETE = "put", "delete"  # `op`; an empty op is a member who stays (only ever the first row, for the totals)
_EVALUATION_IN_PREFIX = re.compile(r"/evaluation_id=([^/]+)/")


def plan(committed: set[str], pending: list[set[str]], new: set[str]) -> tuple[set[str], set[str]]:
    """The puts and deletes that take any membership left by a crash (see above) to exactly `new`."""
    surely_in = committed.intersection(*pending) if pending else committed
    maybe_in = committed.union(*pending) if pending else committed
    return new - surely_in, maybe_in - new


def manifest_prefix(org_id: str, segment_id: str, evaluation_id: str) -> str:
    """Where an evaluation's members lie in the lake, as the Glue table `memberships` partitions them."""
    return f"memberships/org_id={org_id}/segment_id={segment_id}/evaluation_id={evaluation_id}/"


def evaluation_of(manifest: str) -> str:
    """The evaluation id a manifest's key or folder names."""
    found = _EVALUATION_IN_PREFIX.search(manifest)
    if found is None:
        raise ValueError(f"not a manifest: {manifest}")
    return found.group(1)


def manifest_sql(
    segment: Segment, engine: QueryEngine, lake_bucket: str, evaluation_id: str, now: dt.datetime, memberships: dict[str, str]
) -> str:
    """The UNLOAD writing the segment's members as of `now` (Parquet, one contact_id column) to the new
    evaluation's folder, where the `memberships` table reads them."""
    compiled = compile_segment(segment.definition(), segment.org_id, now, dialect=engine.dialect,  # type: ignore[arg-type]
                               database=engine.database, memberships=memberships)  # fmt: skip
    target = exp.Literal.string(f"s3://{lake_bucket}/{manifest_prefix(segment.org_id, segment.id, evaluation_id)}").sql()
    return f"UNLOAD ({compiled.members_sql()}) TO {target} WITH (format = 'PARQUET', compression = 'SNAPPY')"


def difference_sql(
    org_id: str, segment_id: str, new: str, committed: str | None, pending: list[str], dialect: str, database: str | None
) -> str:
    """The contacts to put and to delete to move the stored membership to evaluation `new`, from whatever a
    failed refresh left between the `committed` evaluation and the `pending` ones (`plan`, as a query over the
    manifests), sorted; each row with the evaluation's totals. The first row is always there when any
    manifest holds a contact, even when nothing changes (its op then empty)."""
    table = exp.table_("memberships", db=database).sql(dialect="athena")

    def manifest(evaluation_id: str, source: int) -> str:
        where = " AND ".join(
            f"{column} = {exp.Literal.string(value).sql()}"
            for column, value in (("org_id", org_id), ("segment_id", segment_id), ("evaluation_id", evaluation_id))
        )
        return f"SELECT contact_id, {source} AS src FROM {table} WHERE {where}"

    sources = [manifest(new, 0)]
    if committed is not None:
        sources.append(manifest(committed, 1))
    sources += [manifest(p, 2 + i) for i, p in enumerate(pending)]
    # in C and every P (nothing is surely in when nothing was committed); in C or any P
    surely = f"count(DISTINCT CASE WHEN src > 0 THEN src END) = {1 + len(pending)}" if committed is not None else "false"
    sql = f"""
        SELECT contact_id, op, members, joined, "left" FROM (
          SELECT contact_id,
                 CASE WHEN is_new AND NOT surely THEN '{PUT}' WHEN maybe AND NOT is_new THEN '{DELETE}' ELSE '' END AS op,
                 count_if(is_new) OVER () AS members,
                 count_if(is_new AND NOT was) OVER () AS joined,
                 count_if(was AND NOT is_new) OVER () AS "left",
                 row_number() OVER (ORDER BY contact_id) AS position
          FROM (
            SELECT contact_id, bool_or(src = 0) AS is_new, bool_or(src = 1) AS was, {surely} AS surely, bool_or(src > 0) AS maybe
            FROM ({" UNION ALL ".join(sources)}) AS manifests
            GROUP BY contact_id
          ) AS flags
        ) AS difference
        WHERE op <> '' OR position = 1
        ORDER BY contact_id
    """
    return sqlglot.transpile(sql, read="athena", write=dialect)[0]
