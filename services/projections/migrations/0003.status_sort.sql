-- `sort=status` pages by (status, id); without this index every page sorted all matching rows.
create index subscriptions_status_sort on read.subscriptions (tenant_id, status, id);
