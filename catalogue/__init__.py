"""The PostgreSQL parameter catalogues pgpitr validates `postgresql` settings against
(pgpitr/parameters/pgNN.json), generated from the real `pg_settings` of each supported
major: `python -m catalogue` (see catalogue/README.md)."""
