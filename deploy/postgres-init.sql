-- Run once by the postgres image's entrypoint, on an empty data directory
-- (mounted into /docker-entrypoint-initdb.d by docker-compose.yml).
-- One database per SkillPay service; each service creates its own schema with Alembic
-- migrations when it starts.
CREATE DATABASE voucher;
CREATE DATABASE claim;
CREATE DATABASE ledger;
