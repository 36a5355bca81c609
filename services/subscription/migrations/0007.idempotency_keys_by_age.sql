-- Idempotency keys are kept for WISPGATE_IDEMPOTENCY_RETENTION_DAYS, then pruned oldest first.
create index idempotency_keys_by_age on events.idempotency_keys (created_at);
