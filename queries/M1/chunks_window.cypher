// M1 (Bolt: lists travel natively, no toJSON): the day chunks of some points that overlap a window (days d0..d1 since the Unix epoch).
UNWIND $idxs AS i
MATCH (c:Chunk {idx: i})
WHERE c.day >= $d0 AND c.day <= $d1
RETURN c.idx, c.day, c.ts, c.vs
