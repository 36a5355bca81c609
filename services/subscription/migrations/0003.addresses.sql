-- Addresses and blocks held by the services of a tenant's open subscriptions: no two overlap.
-- An exclusion constraint keeps that race-free inside the append transaction.
create extension if not exists btree_gist;

create table events.address_reservations (
    tenant_id text not null,
    kind      text not null check (kind in ('ipv4', 'ipv6')),
    value     text not null,
    net       cidr not null,
    stream_id uuid not null,
    exclude using gist (tenant_id with =, net inet_ops with &&)
);
create index address_reservations_holder on events.address_reservations (tenant_id, stream_id);
