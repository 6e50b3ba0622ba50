"""The one fence over every write of a trial attempt: records, samples, state fields, counters, drops.

Each write is a Lua script that first compares the trial's lease with the writer's token and writes only
while they are equal, in the same atomic step; a write refused there is counted in the trial (field
`refused_<kind>`), so a zombie attempt (paused past its lease, then resumed) can neither mix its writes
into the re-run's nor go unnoticed. A status change is also a compare-and-set on the status it was
checked against (`lifecycle.check`): nothing fits between the check and the write.
"""

from __future__ import annotations

import json
from typing import Any

# KEYS: lease, trial hash · ARGV: token ('' = only while nobody holds the trial), kind, expected status
# ('' = any, '-' = none yet), then field, value pairs
FENCED_SET = """
local cur = redis.call('GET', KEYS[1])
if (ARGV[1] == '' and cur) or (ARGV[1] ~= '' and cur ~= ARGV[1]) then
  redis.call('HINCRBY', KEYS[2], 'refused_' .. ARGV[2], 1); return -1
end
if ARGV[3] ~= '' and (redis.call('HGET', KEYS[2], 'status') or '-') ~= ARGV[3] then return -2 end
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
return 1
"""
# KEYS: lease, trial hash · ARGV: token, field, by
FENCED_INCR = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  redis.call('HINCRBY', KEYS[2], 'refused_counters', 1); return {0, 0}
end
return {1, redis.call('HINCRBY', KEYS[2], ARGV[2], ARGV[3])}
"""
# KEYS: lease, records hash, trial hash · ARGV: token, record id, record
FENCED_ADD = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  redis.call('HINCRBY', KEYS[3], 'refused_records', 1); return -1
end
return redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3])
"""
# KEYS: lease, samples list, trial hash · ARGV: token, block, rows in the block
FENCED_SAMPLES = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  redis.call('HINCRBY', KEYS[3], 'refused_samples', 1); return -1
end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('HINCRBY', KEYS[3], 'monitor_samples', ARGV[3])
return 1
"""
# KEYS: lease, records hash, samples list, trial hash · ARGV: token ('' = only while nobody holds the trial)
FENCED_DROP = """
local cur = redis.call('GET', KEYS[1])
if (ARGV[1] == '' and cur) or (ARGV[1] ~= '' and cur ~= ARGV[1]) then
  redis.call('HINCRBY', KEYS[4], 'refused_drops', 1); return -1
end
local n = redis.call('HLEN', KEYS[2])
redis.call('DEL', KEYS[2], KEYS[3])
return n
"""
REFUSED_KINDS = ("records", "samples", "status", "fields", "counters", "drops")


def encode_fields(fields: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for k, v in fields.items():
        out += [k, json.dumps(getattr(v, "value", v))]
    return out


def refused(trial: dict) -> dict[str, int]:
    """The writes the fence refused for this trial, by kind (only kinds that happened)."""
    return {k: int(trial[f"refused_{k}"]) for k in REFUSED_KINDS if trial.get(f"refused_{k}")}
