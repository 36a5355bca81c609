-- Projection "account": a subscription's invoices by its tenant too, so that looking them up
-- (the due date after each batch, the scheduler's "not issued yet") never scans the tenant's.
drop index read.invoices_by_period;
create index invoices_of on read.invoices (tenant_id, subscription_id, period_start);
