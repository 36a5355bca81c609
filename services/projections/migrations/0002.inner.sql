-- Projection "inner": the Services, Hotspot, Devices and Details tabs, payments, touchpoints,
-- and the LibreQoS feed. Rows of a subscription carry its tenant; ids are the items' own.
-- The status of every subscription, so a service row can carry it.
create table read.subscription_statuses (
    tenant_id text not null,
    id        uuid not null,
    status    text not null,
    primary key (tenant_id, id)
);

create table read.services (
    tenant_id            text        not null,
    subscription_id      uuid        not null,
    id                   uuid        not null,
    plan                 text        not null,
    download_max_mbps    integer     not null,
    upload_max_mbps      integer     not null,
    download_min_mbps    integer,
    upload_min_mbps      integer,
    qos_mode             text,
    ipv4                 text[]      not null default '{}',
    ipv6                 text[]      not null default '{}',
    pppoe_username       text,
    mac                  text,
    parent_node          text,
    installation_address text,
    status               text        not null,
    -- the subscription's status, kept here so the LibreQoS feed needs no join
    subscription_status  text        not null,
    created_at           timestamptz not null,
    updated_at           timestamptz not null,
    primary key (tenant_id, id)
);
create index services_of on read.services (tenant_id, subscription_id, created_at, id);

create table read.hotspots (
    tenant_id          text        not null,
    subscription_id    uuid        not null,
    id                 uuid        not null,
    login              text        not null,
    profile            text,
    time_limit_minutes integer,
    data_limit_mb      integer,
    expires_at         timestamptz,
    status             text        not null,
    created_at         timestamptz not null,
    updated_at         timestamptz not null,
    primary key (tenant_id, id)
);
create index hotspots_of on read.hotspots (tenant_id, subscription_id, created_at, id);

create table read.devices (
    tenant_id       text        not null,
    subscription_id uuid        not null,
    id              uuid        not null,
    name            text        not null,
    type            text        not null,
    vendor          text,
    model           text,
    serial          text,
    mac             text,
    ip              text,
    parent_node     text,
    service_id      uuid,
    created_at      timestamptz not null,
    updated_at      timestamptz not null,
    primary key (tenant_id, id)
);
create index devices_of on read.devices (tenant_id, subscription_id, created_at, id);
create index devices_of_service on read.devices (tenant_id, service_id, created_at, id);

create table read.billing (
    tenant_id       text          not null,
    subscription_id uuid          not null,
    plan            text          not null,
    price           numeric(14,4) not null,
    currency        text          not null,
    cycle           text          not null,
    billing_day     integer       not null,
    payment_method  text,
    billing_address text,
    updated_at      timestamptz   not null,
    primary key (tenant_id, subscription_id)
);

create table read.payments (
    tenant_id       text          not null,
    subscription_id uuid          not null,
    id              uuid          not null,
    amount          numeric(14,4) not null,
    currency        text          not null,
    method          text          not null,
    reference       text,
    paid_at         timestamptz   not null,
    refunded        numeric(14,4) not null default 0,
    recorded_by     text          not null,
    recorded_at     timestamptz   not null,
    primary key (tenant_id, id)
);
create index payments_of on read.payments (tenant_id, subscription_id, paid_at, id);

create table read.refunds (
    tenant_id       text          not null,
    subscription_id uuid          not null,
    payment_id      uuid          not null,
    id              uuid          not null,
    amount          numeric(14,4) not null,
    reason          text,
    recorded_by     text          not null,
    recorded_at     timestamptz   not null,
    primary key (tenant_id, id)
);
create index refunds_of on read.refunds (tenant_id, payment_id);

create table read.touchpoints (
    tenant_id       text        not null,
    subscription_id uuid        not null,
    id              uuid        not null,
    kind            text        not null,
    note            text        not null,
    occurred_at     timestamptz not null,
    actor           text        not null,
    primary key (tenant_id, id)
);
create index touchpoints_of on read.touchpoints (tenant_id, subscription_id, occurred_at, id);
