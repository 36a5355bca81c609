-- An idempotency key keeps what its command did in the service's own words (created, changed),
-- not an HTTP status: the entry points map the outcome onto their answer when they replay it.
alter table events.idempotency_keys add column outcome text;
update events.idempotency_keys
    set outcome = case when status_code = 201 then 'created' else 'changed' end;
alter table events.idempotency_keys alter column outcome set not null;
alter table events.idempotency_keys drop column status_code;
