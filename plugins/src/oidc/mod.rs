//! The `openidconnect` plugin: generic OpenID Connect (filled in after Entra).
