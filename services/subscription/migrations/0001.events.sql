-- The event store: one append-only table, the source of truth.
create schema if not exists events;

create table events.events (
    position       bigint generated always as identity primary key,
    tenant_id      text        not null,
    stream_id      uuid        not null,
    stream_type    text        not null,
    version        integer     not null check (version > 0),
    event_id       uuid        not null unique,
    type           text        not null,
    schema_version integer     not null default 1,
    data           jsonb       not null,
    metadata       jsonb       not null,
    occurred_at    timestamptz not null default now(),
    -- Id of the appending transaction. Readers that follow the global order read only events
    -- whose transaction is older than every transaction still running (see eventstore.py).
    txid           xid8        not null default pg_current_xact_id(),
    unique (stream_id, version)
);

create index events_commit_order on events.events (txid, position);

-- Uniqueness across streams (unique IDs, PPPoE logins, ...), written in the append transaction.
create table events.reservations (
    tenant_id text not null,
    kind      text not null,
    value     text not null,
    stream_id uuid not null,
    primary key (tenant_id, kind, value)
);

-- First outcome of each command sent with an Idempotency-Key.
create table events.idempotency_keys (
    tenant_id    text        not null,
    key          text        not null,
    request_hash text        not null,
    status_code  integer     not null,
    body         jsonb       not null,
    created_at   timestamptz not null default now(),
    primary key (tenant_id, key)
);

-- What the relay has published and the broker acknowledged, per namespace, in commit order.
create table events.relay_checkpoints (
    namespace  text        primary key,
    txid       xid8        not null default '0',
    position   bigint      not null default 0,
    updated_at timestamptz not null default now()
);

-- A wake-up hint for the relay and the projections; never the source of truth.
create function events.notify_appended() returns trigger language plpgsql as $$
begin
    perform pg_notify('wispgate_events_appended', '');
    return null;
end $$;

create trigger events_appended after insert on events.events
    for each statement execute function events.notify_appended();
