-- Databases of the multi-database bridge example (docker/compose.multi-database-bridge.yml).
CREATE DATABASE orders;
CREATE DATABASE billing;
