//! The diesel schema shared by SQLite and PostgreSQL. Only portable SQL types are used
//! (`BigInt`, `Text`, `Bool`, `Timestamp`); UUIDs and JSON documents are stored as text.

diesel::table! {
    users (id) {
        id -> BigInt,
        uuid -> Text,
        username -> Text,
        username_key -> Text,
        name -> Text,
        email -> Text,
        email_key -> Text,
        is_active -> Bool,
        is_superuser -> Bool,
        #[sql_name = "type"]
        user_type -> Text,
        path -> Text,
        attributes -> Text,
        password_hash -> Nullable<Text>,
        password_changed -> Nullable<Timestamp>,
        last_login -> Nullable<Timestamp>,
        created -> Timestamp,
        updated -> Timestamp,
    }
}

diesel::table! {
    groups (id) {
        id -> BigInt,
        uuid -> Text,
        name -> Text,
        is_superuser -> Bool,
        attributes -> Text,
        parent_id -> Nullable<BigInt>,
        created -> Timestamp,
        updated -> Timestamp,
    }
}

diesel::table! {
    group_members (group_id, user_id) {
        group_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        identifier -> Text,
        key_hash -> Text,
        user_id -> BigInt,
        intent -> Text,
        description -> Text,
        expires -> Nullable<Timestamp>,
        managed -> Nullable<Text>,
        created -> Timestamp,
        last_used -> Nullable<Timestamp>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        uuid -> Text,
        action -> Text,
        user_pk -> Nullable<BigInt>,
        user_json -> Nullable<Text>,
        context -> Text,
        client_ip -> Nullable<Text>,
        created -> Timestamp,
    }
}

diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(group_members -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(users, groups, group_members, api_tokens, events);
