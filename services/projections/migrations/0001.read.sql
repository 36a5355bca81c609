-- Read models built by services/projections. The `read` schema is their published interface:
-- the subscription service's queries.py reads these tables, only the projections write them.
create schema if not exists read;
create extension if not exists pg_trgm;

-- Where each projection stands in the event store's commit-safe order (see the event store).
create table read.checkpoints (
    projection text        primary key,
    txid       xid8        not null default '0',
    position   bigint      not null default 0,
    updated_at timestamptz not null default now()
);
insert into read.checkpoints (projection) values ('directory'), ('subscriptions'), ('history');

-- Events a projection gave up on after its bounded retries (also sent to the dead-letter subject).
create table read.dead_letters (
    projection text        not null,
    event_id   uuid        not null,
    position   bigint      not null,
    error      text        not null,
    attempts   integer     not null,
    created_at timestamptz not null default now(),
    primary key (projection, event_id)
);

-- Projection "directory": contacts, organizations, engineers, service contracts.
create table read.directory (
    tenant_id  text        not null,
    id         uuid        not null,
    kind       text        not null,
    name       text        not null, -- display name: the name, or a service contract's title
    number     text,
    title      text,
    email      text,
    phone      text,
    address    text,
    starts_on  date,
    ends_on    date,
    terms      text,
    active     boolean     not null default true,
    version    integer     not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (tenant_id, id)
);
create index directory_list on read.directory (tenant_id, kind, name, id);

-- Projection "subscriptions": the list and the summary tab.
-- Names of the directory entries a subscription shows, kept by this projection itself so that
-- its rows depend only on the event order, exactly as a rebuild would see it.
create table read.subscription_refs (
    tenant_id text not null,
    id        uuid not null,
    kind      text not null,
    name      text,
    number    text,
    title     text,
    primary key (tenant_id, id)
);

create table read.subscriptions (
    tenant_id               text        not null,
    id                      uuid        not null,
    unique_id               text        not null,
    unique_number           bigint      not null, -- the number in SUB-<n>, for sorting
    name                    text        not null,
    status                  text        not null,
    description             text,
    notification_level      text        not null default 'Now',
    contact_id              uuid        not null,
    contact_name            text,
    organization_id         uuid,
    organization_name       text,
    engineer_id             uuid        not null,
    engineer_name           text,
    service_contract_id     uuid,
    service_contract_number text,
    service_contract_title  text,
    version                 integer     not null,
    created_at              timestamptz not null,
    updated_at              timestamptz not null,
    search                  text generated always as (
        lower(name || ' ' || unique_id || ' ' || coalesce(contact_name, '') || ' '
              || coalesce(organization_name, ''))
    ) stored,
    primary key (tenant_id, id)
);
create index subscriptions_created on read.subscriptions (tenant_id, created_at, id);
create index subscriptions_updated on read.subscriptions (tenant_id, updated_at, id);
create index subscriptions_name on read.subscriptions (tenant_id, name, id);
create index subscriptions_unique on read.subscriptions (tenant_id, unique_number, id);
create index subscriptions_status on read.subscriptions (tenant_id, status, created_at, id);
create index subscriptions_engineer on read.subscriptions (tenant_id, engineer_id, created_at, id);
create index subscriptions_organization
    on read.subscriptions (tenant_id, organization_id, created_at, id);
create index subscriptions_contact on read.subscriptions (tenant_id, contact_id, created_at, id);
-- Lets a renamed service contract reach the subscriptions that show it.
create index subscriptions_service_contract
    on read.subscriptions (tenant_id, service_contract_id, created_at, id);
create index subscriptions_search on read.subscriptions using gin (search gin_trgm_ops);

-- Projection "history": every event of every stream, in words, for the History tab.
-- Display names of directory entries as of the event being described, kept by this projection
-- itself (like subscription_refs) so that its rows depend only on the event order.
create table read.history_refs (
    tenant_id text not null,
    id        uuid not null,
    kind      text not null,
    name      text not null, -- the name, or a service contract's title
    number    text,          -- a service contract's number
    primary key (tenant_id, id)
);

create table read.history (
    tenant_id   text        not null,
    stream_id   uuid        not null,
    version     integer     not null,
    position    bigint      not null,
    event_id    uuid        not null,
    type        text        not null,
    actor       text        not null,
    occurred_at timestamptz not null,
    summary     text        not null,
    data        jsonb       not null,
    primary key (tenant_id, stream_id, version)
);
