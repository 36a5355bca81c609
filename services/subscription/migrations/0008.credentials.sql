-- RADIUS credentials, kept outside the event store (events only record that a password was
-- set). Written by the subscription service's API only; read by FreeRADIUS (the queries in
-- deploy/freeradius/, which select by the tenant of the NAS that asks).

create schema if not exists credentials;

-- The password of a service's PPPoE login or of a hotspot account, as its NT hash
-- (MD4 of the UTF-16LE password, 32 lower-case hex digits): FreeRADIUS's pap module checks a
-- PAP password against it and its mschap module answers MS-CHAPv1/v2 from it, so no clear
-- text is kept. Keyed by the item, so a login renamed keeps its password.
create table credentials.passwords (
    tenant_id       text        not null,
    item_id         uuid        not null,
    subscription_id uuid        not null,
    kind            text        not null check (kind in ('service', 'hotspot')),
    nt_hash         text        not null check (nt_hash ~ '^[0-9a-f]{32}$'),
    set_at          timestamptz not null,
    set_by          text        not null,
    primary key (tenant_id, item_id)
);

-- The NAS registry (routers, BNGs, hotspot gateways) of each tenant. FreeRADIUS reads its
-- clients from here at start: the shared secret must be kept as it is (RADIUS signs packets
-- with it), so it is never answered back by the API nor logged. An address is one client for
-- FreeRADIUS, so it belongs to one NAS of one tenant.
create table credentials.nas (
    id         uuid        primary key,
    tenant_id  text        not null,
    name       text        not null,
    address    inet        not null unique,
    secret     text        not null,
    type       text        not null,
    coa_port   integer     not null check (coa_port between 1 and 65535),
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create index nas_of on credentials.nas (tenant_id, name, id);
