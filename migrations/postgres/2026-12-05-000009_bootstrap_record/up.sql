-- The accounts the bootstrap settings created, by role (`admin`). Later starts apply the
-- bootstrap token and password to the recorded account only, and never re-create, re-enable
-- or re-promote it: whoever else is called `admin` is left alone. There is no foreign key on
-- purpose: a deleted bootstrap account stays deleted.
CREATE TABLE bootstrap_records (
    name TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL,
    created TIMESTAMP NOT NULL
);
