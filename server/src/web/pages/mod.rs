//! Page handlers: the flow pages, the landing page and the `/flows/-/…` shortcuts.

pub mod flow;
pub mod landing;
pub mod shortcuts;
