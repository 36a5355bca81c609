-- Projection "radius": what FreeRADIUS's rlm_sql reads (deploy/freeradius/), in its layout
-- (radcheck, radreply, radusergroup, radgroupcheck, radgroupreply) with two more columns on
-- each row: the tenant, which the queries select by (the tenant of the NAS asking), so the same
-- username in two tenants never crosses, and the service or hotspot account it comes from.
-- The NAS clients and the passwords are the subscription service's (schema credentials).
create schema if not exists radius;

-- What the rows are made from, folded from the events: each PPPoE login and hotspot account.
create table radius.accounts (
    tenant_id           text    not null,
    item_id             uuid    not null,
    subscription_id     uuid    not null,
    kind                text    not null check (kind in ('service', 'hotspot')),
    username            text,
    status              text    not null,
    subscription_status text    not null,
    download_max_mbps   integer,
    upload_max_mbps     integer,
    download_min_mbps   integer,
    upload_min_mbps     integer,
    ipv4                text[]  not null default '{}',
    ipv6                text[]  not null default '{}',
    plan_id             uuid,
    overrides           text[]  not null default '{}',
    profile             text,
    time_limit_minutes  integer,
    data_limit_mb       bigint,
    primary key (tenant_id, item_id)
);
create index accounts_of on radius.accounts (tenant_id, subscription_id);
create index accounts_on_plan on radius.accounts (tenant_id, plan_id) where plan_id is not null;

create table radius.statuses (
    tenant_id text not null,
    id        uuid not null,
    status    text not null,
    primary key (tenant_id, id)
);

-- The rates of every plan as of the event order: services on a plan follow its edits.
create table radius.plans (
    tenant_id         text    not null,
    id                uuid    not null,
    download_max_mbps integer not null,
    upload_max_mbps   integer not null,
    download_min_mbps integer,
    upload_min_mbps   integer,
    primary key (tenant_id, id)
);

-- rlm_sql's tables. Only accounts that may log in have rows: an Active or Suspended
-- subscription's active service with a PPPoE username, or active hotspot account.
create table radius.radcheck (
    tenant_id       text not null,
    item_id         uuid not null,
    subscription_id uuid not null,
    username        text not null,
    attribute       text not null,
    op              text not null default '==',
    value           text not null,
    primary key (tenant_id, item_id, attribute)
);
create index radcheck_user on radius.radcheck (tenant_id, username);

create table radius.radreply (like radius.radcheck);
alter table radius.radreply add primary key (tenant_id, item_id, attribute);
create index radreply_user on radius.radreply (tenant_id, username);

-- Every account that may log in is in one group: `active`, or `suspended` (the walled garden,
-- whose reply the FreeRADIUS site adds from its settings).
create table radius.radusergroup (
    tenant_id       text    not null,
    item_id         uuid    not null,
    subscription_id uuid    not null,
    username        text    not null,
    groupname       text    not null,
    priority        integer not null default 1,
    primary key (tenant_id, item_id, groupname)
);
create index radusergroup_user on radius.radusergroup (tenant_id, username);

-- Per-tenant group items: no event fills them yet (the walled garden is the site's), but the
-- queries read them, so a later group attribute needs no change of FreeRADIUS's configuration.
create table radius.radgroupcheck (
    tenant_id text not null,
    groupname text not null,
    attribute text not null,
    op        text not null default '==',
    value     text not null,
    primary key (tenant_id, groupname, attribute)
);
create table radius.radgroupreply (like radius.radgroupcheck);
alter table radius.radgroupreply add primary key (tenant_id, groupname, attribute);
