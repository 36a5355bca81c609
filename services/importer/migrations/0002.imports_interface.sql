-- The importer's published interface: how other services hand in an upload and read a job.
--
-- The importer owns the schema `imports` and is the only service that writes its tables. Others
-- (the subscription service's API and admin pages, through read/imports.py) use only:
--
--   imports.submit(job_id, tenant_id, actor, filename, dry_run, content) returns uuid
--       stores an uploaded file and its queued job in one statement (so a worker never finds a
--       job without its file) and returns the job's id;
--   imports.job_states       one row per job: its state and counters, as GET /imports/{id} shows;
--   imports.job_errors       every problem of every failed row (row, its order, column, message);
--   imports.job_failed_rows  every failed row's cells by the file's own headers, in file order.
--
-- The tables behind them may change; these keep their names, columns and meaning.

create function imports.submit(
    job_id uuid, tenant_id text, actor text, filename text, dry_run boolean, content bytea
) returns uuid
language sql as $$
    -- Arguments qualified by the function's name: they share names with the columns.
    insert into imports.jobs (id, tenant_id, actor, filename, dry_run, file_size)
    values (submit.job_id, submit.tenant_id, submit.actor, submit.filename, submit.dry_run,
            octet_length(submit.content));
    insert into imports.files (job_id, content) values (submit.job_id, submit.content);
    select submit.job_id;
$$;

create view imports.job_states as
select id, tenant_id, actor, state, dry_run, filename, file_size, rows_total, rows_processed,
       rows_created, rows_skipped, rows_failed, position, message, attempts, created_at,
       started_at, finished_at, updated_at
from imports.jobs;

create view imports.job_errors as
select job_id, sheet_row, seq, column_name, message from imports.row_errors;

create view imports.job_failed_rows as
select job_id, sheet_row, cells from imports.failed_rows;
