-- What FreeRADIUS's client list is read from changes: a stamp that moves with every NAS added,
-- edited or removed. Published for the radius process (services/projections/supervisor.py),
-- which restarts FreeRADIUS when it moves, since FreeRADIUS reads its clients only at start.
create function credentials.clients_stamp() returns text
language sql stable as $$
    select coalesce(md5(string_agg(id::text || '@' || updated_at::text, ',' order by id)), '')
    from credentials.nas
$$;
