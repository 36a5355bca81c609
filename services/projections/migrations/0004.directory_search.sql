-- Search of the directory (the admin pages' lists and the pickers of the subscription forms):
-- `like '%text%'` over one expression of what an entry may be found by, answered by a trigram
-- index, so a rare word among 100,000 contacts reads its matches only. Queries must use the
-- same expression (services/subscription/read/directory.py SEARCH) for the index to serve.
create index directory_search on read.directory
    using gin ((lower(name || ' ' || coalesce(email, '') || ' ' || coalesce(number, '')))
               gin_trgm_ops);
