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

diesel::table! {
    flows (id) {
        id -> BigInt,
        uuid -> Text,
        slug -> Text,
        name -> Text,
        title -> Text,
        designation -> Text,
        authentication -> Text,
        managed -> Nullable<Text>,
        created -> Timestamp,
        updated -> Timestamp,
    }
}

diesel::table! {
    stages (id) {
        id -> BigInt,
        uuid -> Text,
        name -> Text,
        kind -> Text,
        settings -> Text,
        managed -> Nullable<Text>,
        created -> Timestamp,
        updated -> Timestamp,
    }
}

diesel::table! {
    flow_stage_bindings (id) {
        id -> BigInt,
        uuid -> Text,
        flow_id -> BigInt,
        stage_id -> BigInt,
        binding_order -> Integer,
        created -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        key_hash -> Text,
        user_id -> BigInt,
        created -> Timestamp,
        expires -> Timestamp,
        last_seen -> Timestamp,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        reauth_nonce -> Nullable<Text>,
    }
}

diesel::table! {
    flow_states (id) {
        id -> BigInt,
        key_hash -> Text,
        flow_id -> BigInt,
        plan -> Text,
        context -> Text,
        position -> Integer,
        step -> Integer,
        finished -> Bool,
        expires -> Timestamp,
        created -> Timestamp,
        updated -> Timestamp,
    }
}

diesel::table! {
    rate_limits (key) {
        key -> Text,
        window_start -> Timestamp,
        hits -> Integer,
    }
}

diesel::table! {
    user_consents (id) {
        id -> BigInt,
        user_id -> BigInt,
        application -> Text,
        permissions -> Text,
        expires -> Nullable<Timestamp>,
        created -> Timestamp,
    }
}

diesel::table! {
    sources (id) {
        id -> BigInt,
        uuid -> Text,
        slug -> Text,
        name -> Text,
        kind -> Text,
        provider_type -> Text,
        enabled -> Bool,
        promoted -> Bool,
        consumer_key -> Text,
        consumer_secret -> Nullable<Text>,
        client_auth -> Text,
        private_key -> Nullable<Text>,
        certificate -> Nullable<Text>,
        secret_expires -> Nullable<Timestamp>,
        additional_scopes -> Text,
        authorization_url -> Nullable<Text>,
        access_token_url -> Nullable<Text>,
        profile_url -> Nullable<Text>,
        oidc_jwks_url -> Nullable<Text>,
        settings -> Text,
        user_matching_mode -> Text,
        group_matching_mode -> Text,
        authentication_flow_id -> Nullable<BigInt>,
        enrollment_flow_id -> Nullable<BigInt>,
        user_path_template -> Text,
        icon -> Text,
        created -> Timestamp,
        updated -> Timestamp,
        sync_username_on_link -> Bool,
    }
}

diesel::table! {
    property_mappings (id) {
        id -> BigInt,
        uuid -> Text,
        name -> Text,
        kind -> Text,
        expression -> Text,
        managed -> Nullable<Text>,
        created -> Timestamp,
        updated -> Timestamp,
    }
}

diesel::table! {
    source_property_mappings (source_id, role, position) {
        source_id -> BigInt,
        mapping_id -> BigInt,
        role -> Text,
        position -> Integer,
    }
}

diesel::table! {
    user_source_connections (id) {
        id -> BigInt,
        user_id -> BigInt,
        source_id -> BigInt,
        identifier -> Text,
        access_token -> Nullable<Text>,
        refresh_token -> Nullable<Text>,
        expires -> Nullable<Timestamp>,
        attributes -> Text,
        created -> Timestamp,
        last_updated -> Timestamp,
        origin -> Text,
    }
}

diesel::table! {
    group_source_connections (id) {
        id -> BigInt,
        group_id -> BigInt,
        source_id -> BigInt,
        identifier -> Text,
        created -> Timestamp,
        last_updated -> Timestamp,
    }
}

diesel::table! {
    oauth_states (id) {
        id -> BigInt,
        state_hash -> Text,
        source_id -> BigInt,
        browser_hash -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        redirect_uri -> Text,
        next -> Nullable<Text>,
        resume_flow_hash -> Nullable<Text>,
        created -> Timestamp,
        expires -> Timestamp,
    }
}

diesel::table! {
    signing_keys (id) {
        id -> BigInt,
        uuid -> Text,
        name -> Text,
        algorithm -> Text,
        kid -> Text,
        private_key -> Text,
        public_jwk -> Text,
        managed -> Nullable<Text>,
        created -> Timestamp,
        rotated -> Nullable<Timestamp>,
        retire_after -> Nullable<Timestamp>,
    }
}

diesel::table! {
    providers (id) {
        id -> BigInt,
        uuid -> Text,
        name -> Text,
        client_type -> Text,
        client_id -> Text,
        client_secret_hash -> Nullable<Text>,
        redirect_uris -> Text,
        authorization_flow_id -> Nullable<BigInt>,
        signing_key_id -> BigInt,
        access_code_validity -> Integer,
        access_token_validity -> Integer,
        refresh_token_validity -> Integer,
        scopes -> Text,
        federation_audiences -> Text,
        federation_app_ids -> Text,
        federation_required_roles -> Text,
        created -> Timestamp,
        updated -> Timestamp,
    }
}

diesel::table! {
    provider_federation_sources (provider_id, source_id) {
        provider_id -> BigInt,
        source_id -> BigInt,
        position -> Integer,
    }
}

diesel::table! {
    applications (id) {
        id -> BigInt,
        uuid -> Text,
        slug -> Text,
        name -> Text,
        provider_id -> Nullable<BigInt>,
        created -> Timestamp,
        updated -> Timestamp,
    }
}

diesel::table! {
    oauth_grants (id) {
        id -> BigInt,
        uuid -> Text,
        provider_id -> BigInt,
        user_id -> BigInt,
        scope -> Text,
        nonce -> Nullable<Text>,
        auth_time -> Timestamp,
        revoked -> Bool,
        created -> Timestamp,
        expires -> Timestamp,
    }
}

diesel::table! {
    authorization_codes (id) {
        id -> BigInt,
        code_hash -> Text,
        provider_id -> BigInt,
        user_id -> BigInt,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        code_challenge_method -> Nullable<Text>,
        auth_time -> Timestamp,
        grant_id -> Nullable<BigInt>,
        used -> Bool,
        created -> Timestamp,
        expires -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        grant_id -> BigInt,
        rotated -> Bool,
        created -> Timestamp,
        expires -> Timestamp,
    }
}

diesel::table! {
    revoked_tokens (id) {
        id -> BigInt,
        jti -> Text,
        expires -> Timestamp,
    }
}

diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(source_property_mappings -> sources (source_id));
diesel::joinable!(source_property_mappings -> property_mappings (mapping_id));
diesel::joinable!(user_source_connections -> users (user_id));
diesel::joinable!(user_source_connections -> sources (source_id));
diesel::joinable!(group_source_connections -> groups (group_id));
diesel::joinable!(group_source_connections -> sources (source_id));
diesel::joinable!(oauth_states -> sources (source_id));
diesel::joinable!(flow_stage_bindings -> flows (flow_id));
diesel::joinable!(flow_stage_bindings -> stages (stage_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(flow_states -> flows (flow_id));
diesel::joinable!(user_consents -> users (user_id));
diesel::joinable!(group_members -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(providers -> signing_keys (signing_key_id));
diesel::joinable!(providers -> flows (authorization_flow_id));
diesel::joinable!(provider_federation_sources -> providers (provider_id));
diesel::joinable!(provider_federation_sources -> sources (source_id));
diesel::joinable!(applications -> providers (provider_id));
diesel::joinable!(oauth_grants -> providers (provider_id));
diesel::joinable!(oauth_grants -> users (user_id));
diesel::joinable!(authorization_codes -> providers (provider_id));
diesel::joinable!(refresh_tokens -> oauth_grants (grant_id));

diesel::table! {
    bootstrap_records (name) {
        name -> Text,
        user_id -> BigInt,
        created -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    groups,
    group_members,
    api_tokens,
    events,
    flows,
    stages,
    flow_stage_bindings,
    sessions,
    flow_states,
    rate_limits,
    user_consents,
    sources,
    property_mappings,
    source_property_mappings,
    user_source_connections,
    group_source_connections,
    oauth_states,
    signing_keys,
    providers,
    provider_federation_sources,
    applications,
    oauth_grants,
    authorization_codes,
    refresh_tokens,
    revoked_tokens,
    bootstrap_records,
);
