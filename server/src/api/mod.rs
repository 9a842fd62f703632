//! The admin REST API under `/api/v3/`: one module per resource, registered in [`configure`],
//! which also feeds the OpenAPI document (routes and documentation come from the same calls).

pub mod applications;
pub mod audit;
pub mod auth;
pub mod bindings;
pub mod connections;
pub mod events;
pub mod flows;
pub mod groups;
pub mod list;
pub mod openapi;
pub mod property_mappings;
pub mod providers;
pub mod signing_keys;
pub mod sources;
pub mod stages;
pub mod tokens;
pub mod users;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every admin API endpoint (relative to `/api/v3`). Fixed paths such as
/// `core/users/me/` come before the `{pk}` routes that would otherwise capture them.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(users::me)
        .service(users::list)
        .service(users::create)
        .service(users::retrieve)
        .service(users::update)
        .service(users::partial_update)
        .service(users::destroy)
        .service(users::set_password)
        .service(groups::list)
        .service(groups::create)
        .service(groups::retrieve)
        .service(groups::update)
        .service(groups::partial_update)
        .service(groups::destroy)
        .service(groups::add_user)
        .service(groups::remove_user)
        .service(tokens::list)
        .service(tokens::create)
        .service(tokens::retrieve)
        .service(tokens::update)
        .service(tokens::partial_update)
        .service(tokens::rotate_key)
        .service(tokens::destroy)
        .service(events::list)
        .service(events::create)
        .service(events::retrieve)
        .service(events::update)
        .service(events::partial_update)
        .service(events::destroy)
        .service(flows::executor_get)
        .service(flows::executor_post)
        .service(flows::list)
        .service(flows::create)
        .service(flows::retrieve)
        .service(flows::update)
        .service(flows::partial_update)
        .service(flows::destroy)
        .service(bindings::list)
        .service(bindings::create)
        .service(bindings::retrieve)
        .service(bindings::update)
        .service(bindings::partial_update)
        .service(bindings::destroy);
    stages::configure(cfg);
    cfg.service(property_mappings::all_list)
        .service(property_mappings::all_retrieve)
        .service(property_mappings::test)
        .service(property_mappings::list)
        .service(property_mappings::create)
        .service(property_mappings::retrieve)
        .service(property_mappings::update)
        .service(property_mappings::partial_update)
        .service(property_mappings::destroy)
        .service(sources::source_types)
        .service(sources::list)
        .service(sources::create)
        .service(sources::retrieve)
        .service(sources::update)
        .service(sources::partial_update)
        .service(sources::destroy)
        .service(connections::user_list)
        .service(connections::user_retrieve)
        .service(connections::user_destroy)
        .service(connections::group_list)
        .service(connections::group_retrieve)
        .service(connections::group_destroy)
        .service(providers::list)
        .service(providers::create)
        .service(providers::retrieve)
        .service(providers::update)
        .service(providers::partial_update)
        .service(providers::rotate_secret)
        .service(providers::destroy)
        .service(applications::list)
        .service(applications::create)
        .service(applications::retrieve)
        .service(applications::update)
        .service(applications::partial_update)
        .service(applications::destroy)
        .service(signing_keys::list)
        .service(signing_keys::create)
        .service(signing_keys::retrieve)
        .service(signing_keys::rotate)
        .service(signing_keys::destroy);
}
