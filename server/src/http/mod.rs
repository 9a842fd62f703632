//! HTTP plumbing shared by every handler: the JSON body extractor, client information, the
//! extractor error handlers, metrics and request logging.

pub mod client;
pub mod extract;
pub mod json;
pub mod metrics;
