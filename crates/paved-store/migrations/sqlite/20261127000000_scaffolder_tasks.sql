-- Scaffolder tasks (a template run) and their events (the live log, completion), in the shape
-- of Backstage's scaffolder tables. Secrets are never stored: they live in memory for a run.
CREATE TABLE scaffolder_tasks (
    id                TEXT PRIMARY KEY,
    spec              TEXT NOT NULL,
    status            TEXT NOT NULL,
    created_by        TEXT,
    job_id            INTEGER,
    output            TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    last_heartbeat_at INTEGER
);
CREATE INDEX scaffolder_tasks_created ON scaffolder_tasks (created_at, id);
CREATE TABLE scaffolder_task_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id    TEXT NOT NULL REFERENCES scaffolder_tasks (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX scaffolder_task_events_task ON scaffolder_task_events (task_id, id);
