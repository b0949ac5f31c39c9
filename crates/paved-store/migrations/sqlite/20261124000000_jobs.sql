-- Work that outlives a request (template tasks, docs builds, …): claimed with a lease so any
-- replica can run it, and retried when the replica holding it disappears.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    dedupe_key       TEXT,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    run_at           INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_until      INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
-- What a worker looks for: due queued jobs and running ones whose lease ran out.
CREATE INDEX jobs_claimable ON jobs (state, run_at, id) WHERE state IN ('queued', 'running');
-- At most one queued job per kind and key: enqueueing it again reuses the queued one.
CREATE UNIQUE INDEX jobs_queued_dedupe ON jobs (kind, dedupe_key)
    WHERE state = 'queued' AND dedupe_key IS NOT NULL;
CREATE INDEX jobs_kind_id ON jobs (kind, id);
