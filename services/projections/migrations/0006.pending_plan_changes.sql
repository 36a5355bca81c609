-- Projection "inner": the plan change pending for a service (shown on the Services tab), and
-- where the scheduler finds those due.
alter table read.services
    add column pending_plan_id      uuid,
    add column pending_plan         text,
    add column pending_effective_at timestamptz;
create index services_pending_plan_changes on read.services (pending_effective_at)
    where pending_effective_at is not null;
