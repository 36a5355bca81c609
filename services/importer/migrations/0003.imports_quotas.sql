-- What a tenant's files may make the importer keep and do: a bounded error report per job, a
-- cap on imports waiting per tenant, turns across tenants, and retention of files and reports.

-- The failed rows (and their errors) kept for the report, and their size; past the worker's
-- bound a failed row is counted in rows_failed but not kept, and `report_cut` says so. Rows
-- stored before this migration were all kept.
alter table imports.jobs
    add column rows_reported   integer not null default 0,
    add column report_bytes    bigint  not null default 0,
    add column report_cut      boolean not null default false,
    -- When retention deleted the uploaded file, and the failed rows and their errors.
    add column file_deleted_at   timestamptz,
    add column report_deleted_at timestamptz;

update imports.jobs j
set rows_reported = (select count(*) from imports.failed_rows f where f.job_id = j.id);

-- The unfinished jobs of a tenant: the cap counts them, claiming weighs them.
create index jobs_unfinished_of_tenant on imports.jobs (tenant_id)
    where state in ('queued', 'running');
-- Retention finds finished jobs whose file or report is still kept.
create index jobs_file_kept on imports.jobs (finished_at)
    where finished_at is not null and file_deleted_at is null;
create index jobs_report_kept on imports.jobs (finished_at)
    where finished_at is not null and report_deleted_at is null;

-- When each tenant last had a job claimed: the tenant served longest ago goes first.
create table imports.tenant_turns (
    tenant_id       text        primary key,
    last_claimed_at timestamptz not null
);

-- The importer's quotas, written by its `setup` and `worker` from IMPORTER_* settings, read by
-- imports.submit (the API knows none of them). One row.
create table imports.quotas (
    only_row              boolean primary key default true check (only_row),
    max_queued_per_tenant integer not null check (max_queued_per_tenant >= 1)
);
insert into imports.quotas (max_queued_per_tenant) values (10);

-- imports.submit as published in 0002, refusing an upload while the tenant already has
-- `max_queued_per_tenant` jobs waiting: SQLSTATE WGQ01, the message saying how many.
-- Uploads of one tenant are counted one at a time (a transaction-scoped advisory lock), so two
-- at once cannot both pass at the cap.
create or replace function imports.submit(
    job_id uuid, tenant_id text, actor text, filename text, dry_run boolean, content bytea
) returns uuid
language plpgsql as $$
declare
    cap     integer;
    waiting integer;
begin
    perform pg_advisory_xact_lock(hashtextextended('imports.submit:' || submit.tenant_id, 0));
    select q.max_queued_per_tenant into cap from imports.quotas q;
    select count(*) into waiting from imports.jobs j
    where j.tenant_id = submit.tenant_id and j.state = 'queued';
    if waiting >= coalesce(cap, 10) then
        raise exception using
            errcode = 'WGQ01',
            message = format('%s imports are waiting already (at most %s may)', waiting, cap),
            hint = 'retry when one of them finishes';
    end if;
    insert into imports.jobs (id, tenant_id, actor, filename, dry_run, file_size)
    values (submit.job_id, submit.tenant_id, submit.actor, submit.filename, submit.dry_run,
            octet_length(submit.content));
    insert into imports.files (job_id, content) values (submit.job_id, submit.content);
    return submit.job_id;
end;
$$;

-- job_states as published, plus (at the end, as a view may only grow there) how many failed
-- rows the report keeps, whether it was cut at the bound, and when retention deleted it.
create or replace view imports.job_states as
select id, tenant_id, actor, state, dry_run, filename, file_size, rows_total, rows_processed,
       rows_created, rows_skipped, rows_failed, position, message, attempts, created_at,
       started_at, finished_at, updated_at, rows_reported, report_cut, report_deleted_at
from imports.jobs;
