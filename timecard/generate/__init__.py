"""A synthetic Amazon Connect agent event stream: realistic, deterministic and fast.

The model. Each agent has a home site (time zone, hierarchy, names), a routing profile and a shift
pattern (day, evening or night shift, two days off a week). On a worked day the shift is one
session: LOGIN, STATE_CHANGE activity, a HEART_BEAT every 120 s while nothing else happens, and a
LOGOUT. About 5% of shifts never log out (the CCP window was closed, so events just stop) and
about 5% log in again mid-shift without a LOGOUT (the browser crashed). Every record carries the
full CurrentAgentSnapshot, as the real stream does; that is what makes raw data heavy.

Delivery. An event arrives a little after it happened (mostly within seconds, sometimes minutes)
and is filed under its UTC *arrival* time, as Firehose does, so events from the last minutes
before midnight can land in the next day's partition. About 0.1% are delivered a second time,
sometimes into a later file or partition. A file holds its records in arrival order with a little
shuffling, so they are not in event-time order. Only arrivals in `[start, start + days)` are
written: the stream is cut there, like a real bucket, so the first day holds LOGOUTs whose LOGIN
came before it. With `partition_time="event"` each record is filed under its EventTimestamp's
UTC day or hour instead (Firehose dynamic partitioning); the records written are the same.

Shapes. Every record is built as a Polars frame of CamelCase structs; `encode_records` writes it
in each real landing's shape (JSON in lines, back to back, pretty or mixed, gzip'd or not, keys
lower-cased; Parquet nested, pyarrow-written, or as Firehose converts it with a Glue table), so
the same arguments give the same records in every shape.

Speed, memory and determinism. The roster and the shift plan (one row per session) are made in
Python with one random stream per agent and per agent-day; everything per event is vectorized in
Polars. The stream is made and written as it goes: a window of event time at a time, each file a
batch of records at a time, so memory does not grow with agents or days (`stream`). Per-event
randomness hashes a stable event key with a seed per purpose, so nothing depends on processing
order or batches: the same arguments give byte-identical files, and a day's partition is the same
whatever `start` and `days` surround it. (Polars guarantees its hash within one version only,
which the pinned requirements fix.)
"""

from timecard.generate.model import CONTACT_STATES, EVENT_TYPES, MAX_AGENTS, MAX_DAYS, SITES
from timecard.generate.shapes import JSON_SHAPES, encode_records
from timecard.generate.stream import generate_events
from timecard.generate.writers import GenerateSummary
from timecard.limits import SHAPES, Shape

# Modules: model (constants), roster (agents), shifts (sessions), draws (per-event randomness),
# events (anchors, heartbeats, deliveries), records (the record structs), shapes (encoders),
# writers (files), stream (generate_events).
__all__ = [
    "CONTACT_STATES",
    "EVENT_TYPES",
    "JSON_SHAPES",
    "MAX_AGENTS",
    "MAX_DAYS",
    "SHAPES",
    "SITES",
    "GenerateSummary",
    "Shape",
    "encode_records",
    "generate_events",
]
