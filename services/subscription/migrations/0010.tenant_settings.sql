-- Settings of a tenant (one ISP), written by staff through PUT /api/v1/settings. A tenant
-- without a row has the defaults (grace_days 7): see write/tenants.py.
create schema if not exists tenants;

create table tenants.settings (
    tenant_id  text        primary key,
    grace_days integer     not null check (grace_days between 0 and 365),
    updated_by text        not null,
    updated_at timestamptz not null
);
