-- Projection "account": each subscription's account (invoices, charges and credits, payments
-- and refunds, balance, due date), the tenant's invoices for the accountant, and the status
-- changes staff scheduled; the scheduler finds what is due here.
create table read.accounts (
    tenant_id       text          not null,
    subscription_id uuid          not null,
    unique_id       text          not null,
    status          text          not null,
    -- Suspended for being overdue (status_changed with cause "overdue", nothing since), and
    -- that event's position (the scheduler's key for reactivating it once paid).
    overdue         boolean       not null default false,
    overdue_position bigint,
    plan            text,
    price           numeric(14,4),
    currency        text,
    cycle           text,
    billing_day     integer,
    -- The UTC day billing was first set: no period starting before it is invoiced.
    billing_since   date,
    -- What is owed in the billing currency (negative: in credit), and the due date of the
    -- oldest invoice it still covers (payments settle the oldest first).
    balance         numeric(16,4) not null default 0,
    due_on          date,
    primary key (tenant_id, subscription_id)
);
create index accounts_billed on read.accounts (cycle, billing_day)
    where currency is not null and status not in ('Cancelled', 'Completed');
create index accounts_owing on read.accounts (due_on) where due_on is not null;
create index accounts_overdue on read.accounts (tenant_id) where overdue;

create table read.invoices (
    tenant_id       text          not null,
    id              uuid          not null,
    subscription_id uuid          not null,
    unique_id       text          not null,
    number          text          not null,
    period_start    date          not null,
    period_end      date          not null,
    issued_at       timestamptz   not null,
    due_on          date          not null,
    currency        text          not null,
    total           numeric(14,4) not null,
    lines           jsonb         not null,
    position        bigint        not null,
    primary key (tenant_id, id)
);
create index invoices_by_issue on read.invoices (tenant_id, issued_at, id);
create index invoices_by_period on read.invoices (subscription_id, period_start);

-- Every movement of money, signed: what the customer owes more (invoice, charge, refund) is
-- positive, what they paid or are credited (payment, credit) negative.
create table read.account_lines (
    tenant_id       text          not null,
    subscription_id uuid          not null,
    position        bigint        not null,
    seq             integer       not null,
    kind            text          not null,
    occurred_at     timestamptz   not null,
    description     text          not null,
    amount          numeric(14,4) not null,
    currency        text          not null,
    ref_id          uuid,
    primary key (tenant_id, subscription_id, position, seq)
);

create table read.scheduled_statuses (
    tenant_id       text        not null,
    id              uuid        not null,
    subscription_id uuid        not null,
    to_status       text        not null,
    reason          text,
    at              timestamptz not null,
    scheduled_at    timestamptz not null,
    primary key (tenant_id, id)
);
create index scheduled_statuses_due on read.scheduled_statuses (at);
create index scheduled_statuses_of on read.scheduled_statuses (tenant_id, subscription_id, at);
