-- One database per service: no service reads another's tables.
CREATE DATABASE lp_lrs;
CREATE DATABASE lp_analytics;
CREATE DATABASE lp_identity;
