-- Projection "plans": the tenant's plan catalogue (GET /api/v1/plans).
create table read.plans (
    tenant_id         text          not null,
    id                uuid          not null,
    name              text          not null,
    download_max_mbps integer       not null,
    upload_max_mbps   integer       not null,
    download_min_mbps integer,
    upload_min_mbps   integer,
    qos_mode          text,
    price             numeric(14,4) not null,
    currency          text          not null,
    cycle             text          not null,
    data_cap_gb       integer,
    retired           boolean       not null default false,
    retired_reason    text,
    version           integer       not null,
    created_at        timestamptz   not null,
    updated_at        timestamptz   not null,
    primary key (tenant_id, id)
);
create index plans_list on read.plans (tenant_id, name, id);
-- The list's search: the same expression as services/subscription/read/plans.py SEARCH.
create index plans_search on read.plans using gin (lower(name) gin_trgm_ops);

-- Projection "inner": a service on a catalogue plan follows the plan's name, rates and QoS
-- mode except its overrides. The rates of every plan, as of the event order, kept by this
-- projection itself so that its rows depend only on that order (as a rebuild sees it).
alter table read.services
    add column plan_id   uuid,
    add column overrides text[] not null default '{}';
create index services_on_plan on read.services (tenant_id, plan_id) where plan_id is not null;

create table read.service_plans (
    tenant_id         text    not null,
    id                uuid    not null,
    name              text    not null,
    download_max_mbps integer not null,
    upload_max_mbps   integer not null,
    download_min_mbps integer,
    upload_min_mbps   integer,
    qos_mode          text,
    primary key (tenant_id, id)
);
