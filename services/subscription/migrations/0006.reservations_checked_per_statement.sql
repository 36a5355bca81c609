-- A stream may give up and take values in one append: widen or narrow its own address block,
-- swap the logins of two of its services. The append is one statement whose parts (release,
-- reserve) run in no set order, so a constraint checked row by row could meet the stream's own
-- old row. DEFERRABLE INITIALLY IMMEDIATE checks uniqueness and overlap when the statement ends
-- (the SQL standard's rule), so the release counts; another stream's hold is still refused.
alter table events.address_reservations
    drop constraint address_reservations_tenant_id_net_excl;
alter table events.address_reservations
    add constraint address_reservations_no_overlap
    exclude using gist (tenant_id with =, net inet_ops with &&)
    deferrable initially immediate;

alter table events.reservations drop constraint reservations_pkey;
alter table events.reservations
    add constraint reservations_pkey primary key (tenant_id, kind, value)
    deferrable initially immediate;
