-- Import jobs, owned by the importer. The API inserts a job and its file in one transaction;
-- the worker moves it through running to completed or failed.
create schema if not exists imports;

create table imports.jobs (
    id             uuid        primary key,
    tenant_id      text        not null,
    actor          text        not null,
    filename       text,
    dry_run        boolean     not null default false,
    state          text        not null default 'queued'
                               check (state in ('queued', 'running', 'completed', 'failed')),
    file_size      bigint      not null,
    rows_total     integer     not null default 0,
    rows_processed integer     not null default 0,
    rows_created   integer     not null default 0,
    rows_skipped   integer     not null default 0,
    rows_failed    integer     not null default 0,
    -- The next data row to send after a restart: rows before it were answered and counted.
    resume_row     integer     not null default 2,
    -- The list holds every created row once the read model reached this position.
    position       bigint      not null default 0,
    message        text,
    attempts       integer     not null default 0,
    created_at     timestamptz not null default now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    updated_at     timestamptz not null default now()
);

create index jobs_unfinished on imports.jobs (created_at) where state in ('queued', 'running');
create index jobs_of_tenant on imports.jobs (tenant_id, created_at desc);

-- The uploaded file, apart from the job row so that polling a job never reads it.
create table imports.files (
    job_id  uuid  primary key references imports.jobs on delete cascade,
    content bytea not null
);

-- Every problem of every failed row, and the failed row's cells as read, for errors.xlsx.
create table imports.row_errors (
    job_id      uuid    not null references imports.jobs on delete cascade,
    sheet_row   integer not null,
    seq         integer not null,
    column_name text,
    message     text    not null,
    primary key (job_id, sheet_row, seq)
);

create table imports.failed_rows (
    job_id uuid    not null references imports.jobs on delete cascade,
    sheet_row integer not null,
    -- The row's cells by the file's own headers, as text, in the file's column order.
    cells  jsonb   not null,
    primary key (job_id, sheet_row)
);
