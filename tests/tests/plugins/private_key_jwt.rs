//! `private_key_jwt` client authentication with a registered certificate.

use gatehouse_plugins::{ClientCredential, PluginError};
use gatehouse_testkit::entra_sim::keys::{CLIENT_A, CLIENT_B};
use gatehouse_testkit::entra_sim::{EntraSim, fixtures as f};

use crate::plugins::common::*;

#[tokio::test]
async fn registered_certificate_is_accepted() {
    let sim = EntraSim::standard().unwrap();
    let mut cfg = contoso_cfg(&sim);
    cfg.credential = ClientCredential::PrivateKeyJwt {
        private_key_pem: CLIENT_A.0.to_owned(),
        certificate_pem: CLIENT_A.1.to_owned(),
    };
    assert!(entraid().validate(&cfg).is_ok());
    let id = login(&cfg, None).await.unwrap();
    assert_eq!(id.identifier, f::ADELE);
}

#[tokio::test]
async fn unregistered_certificate_is_refused() {
    let sim = EntraSim::standard().unwrap();
    let mut cfg = contoso_cfg(&sim);
    cfg.credential = ClientCredential::PrivateKeyJwt {
        private_key_pem: CLIENT_B.0.to_owned(),
        certificate_pem: CLIENT_B.1.to_owned(),
    };
    let err = login(&cfg, None).await.unwrap_err();
    match &err {
        PluginError::Upstream { error, codes, .. } => {
            assert_eq!(error, "invalid_client");
            assert_eq!(codes, &vec![700027]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn key_not_matching_the_certificate_is_refused() {
    let sim = EntraSim::standard().unwrap();
    let mut cfg = contoso_cfg(&sim);
    // Registered certificate's thumbprint, but signed with another key.
    cfg.credential = ClientCredential::PrivateKeyJwt {
        private_key_pem: CLIENT_B.0.to_owned(),
        certificate_pem: CLIENT_A.1.to_owned(),
    };
    let err = login(&cfg, None).await.unwrap_err();
    assert!(
        matches!(&err, PluginError::Upstream { codes, .. } if codes == &vec![700027]),
        "{err:?}"
    );
}

#[test]
fn unreadable_key_material_is_a_field_error() {
    let sim = EntraSim::standard().unwrap();
    let mut cfg = contoso_cfg(&sim);
    cfg.credential = ClientCredential::PrivateKeyJwt {
        private_key_pem: "nope".to_owned(),
        certificate_pem: "nope".to_owned(),
    };
    let errors = entraid().validate(&cfg).unwrap_err();
    assert!(errors.get("private_key").is_some());
    assert!(errors.get("certificate").is_some());
}
