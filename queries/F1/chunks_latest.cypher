// F1: per point, the latest day chunk holding a sample before `end` (it holds the latest such sample).
UNWIND $idxs AS i
MATCH (c:Chunk {idx: i})
WHERE c.day <= $d1 AND c.ts[0] < $end_us
WITH i, max(c.day) AS d
MATCH (c:Chunk {idx: i})
WHERE c.day = d
RETURN c.idx, c.day, toJSON(c.ts), toJSON(c.vs)
