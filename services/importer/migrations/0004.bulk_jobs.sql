-- Bulk changes (contracts/bulk.py): a job of kind `bulk` whose rows are the subscriptions to
-- change, with the one action for all of them. The same jobs, claiming, leases, counters and
-- report as an import's: `resume_row` is the next row (`seq`) to send, rows_created counts the
-- subscriptions changed, rows_skipped those already as asked, rows_failed the refused ones,
-- whose reasons are kept as row errors (sheet_row = seq) and whose subscription id is the one
-- cell of their failed row.
alter table imports.jobs
    add column kind   text  not null default 'import' check (kind in ('import', 'bulk')),
    add column action jsonb;

-- The subscriptions of a bulk job, in the order they are sent; deleted with the job's file
-- (retention.py).
create table imports.bulk_rows (
    job_id          uuid    not null references imports.jobs on delete cascade,
    seq             integer not null,
    subscription_id uuid    not null,
    primary key (job_id, seq)
);

-- Published, as imports.submit is: stores a bulk job and its rows in one statement and returns
-- the job's id; refused like an upload (SQLSTATE WGQ01) while the tenant has as many jobs
-- waiting as the quota allows.
create function imports.submit_bulk(
    job_id uuid, tenant_id text, actor text, action jsonb, subscription_ids uuid[]
) returns uuid
language plpgsql as $$
declare
    cap     integer;
    waiting integer;
begin
    perform pg_advisory_xact_lock(hashtextextended('imports.submit:' || submit_bulk.tenant_id, 0));
    select q.max_queued_per_tenant into cap from imports.quotas q;
    select count(*) into waiting from imports.jobs j
    where j.tenant_id = submit_bulk.tenant_id and j.state = 'queued';
    if waiting >= coalesce(cap, 10) then
        raise exception using
            errcode = 'WGQ01',
            message = format('%s jobs are waiting already (at most %s may)', waiting, cap),
            hint = 'retry when one of them finishes';
    end if;
    insert into imports.jobs (id, tenant_id, actor, kind, action, file_size, rows_total, resume_row)
    values (submit_bulk.job_id, submit_bulk.tenant_id, submit_bulk.actor, 'bulk',
            submit_bulk.action, 0, cardinality(submit_bulk.subscription_ids), 1);
    insert into imports.bulk_rows (job_id, seq, subscription_id)
    select submit_bulk.job_id, s.seq, s.id
    from unnest(submit_bulk.subscription_ids) with ordinality as s(id, seq);
    return submit_bulk.job_id;
end;
$$;

-- job_states as published in 0003, plus (at the end) the job's kind and a bulk job's action.
create or replace view imports.job_states as
select id, tenant_id, actor, state, dry_run, filename, file_size, rows_total, rows_processed,
       rows_created, rows_skipped, rows_failed, position, message, attempts, created_at,
       started_at, finished_at, updated_at, rows_reported, report_cut, report_deleted_at,
       kind, action
from imports.jobs;
