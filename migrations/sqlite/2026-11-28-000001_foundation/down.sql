DROP TABLE events;
DROP TABLE api_tokens;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE users;
