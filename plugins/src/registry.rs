//! The registry of source plugins, looked up by name; the server never matches on names.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::plugin::SourcePlugin;

#[derive(Clone, Default)]
pub struct Registry {
    plugins: BTreeMap<String, Arc<dyn SourcePlugin>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.plugins.keys()).finish()
    }
}

impl Registry {
    pub fn empty() -> Self {
        Self::default()
    }

    /// The plugins compiled into this build (`entraid`, `openidconnect`).
    pub fn builtin() -> Self {
        #[allow(unused_mut)]
        let mut registry = Self::empty();
        #[cfg(feature = "entraid")]
        registry.register(Arc::new(crate::entraid::EntraIdPlugin::new()));
        #[cfg(feature = "openidconnect")]
        registry.register(Arc::new(crate::oidc::OpenIdConnectPlugin::new()));
        registry
    }

    /// Adds (or replaces) a plugin under its description's name.
    pub fn register(&mut self, plugin: Arc<dyn SourcePlugin>) {
        self.plugins.insert(plugin.description().name.clone(), plugin);
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn SourcePlugin>> {
        self.plugins.get(name).cloned()
    }

    /// All plugins, sorted by name.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn SourcePlugin>> {
        self.plugins.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_has_both() {
        let r = Registry::builtin();
        assert_eq!(r.get("entraid").unwrap().description().verbose_name, "Entra ID");
        assert!(r.get("openidconnect").is_some());
        assert!(r.get("azuread").is_none());
        assert_eq!(r.all().count(), 2);
    }
}
