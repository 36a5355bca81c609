-- Projection "account": a scheduled status change is its subscription's (the projection applies
-- each subscription's statements in order, those of different subscriptions in any order).
alter table read.scheduled_statuses drop constraint scheduled_statuses_pkey;
alter table read.scheduled_statuses add primary key (tenant_id, subscription_id, id);
