DROP TABLE user_consents;
DROP TABLE rate_limits;
DROP TABLE flow_states;
DROP TABLE sessions;
DROP TABLE flow_stage_bindings;
DROP TABLE stages;
DROP TABLE flows;
