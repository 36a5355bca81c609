-- API tokens: a name (recorded as the actor), a tenant and a role. Only hashes are stored.
create schema if not exists access;

create table access.tokens (
    id         uuid        primary key,
    name       text        not null,
    tenant_id  text        not null,
    role       text        not null check (role in ('admin', 'read')),
    token_hash text        not null unique,
    created_at timestamptz not null default now(),
    revoked_at timestamptz
);
