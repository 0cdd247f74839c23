//! Signing one role's metadata with exactly the keys given. The caller decides which
//! keys those are (normally the role's keys per root; tests deliberately pick others).

use aws_lc_rs::rand::SystemRandom;
use olpc_cjson::CanonicalFormatter;
use serde::Serialize;
use tough::schema::{Role, Signature, Signed};

use super::error::{ArtefactError, Result};
use super::keys::Signer;

/// Signs the canonical JSON of `body` (what TUF clients verify) with every signer.
pub async fn sign_role<T: Role + Serialize>(body: T, signers: &[&Signer]) -> Result<Signed<T>> {
    let err = |why: String| ArtefactError::Sign { role: T::TYPE.to_string(), why };
    let mut canonical = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut canonical, CanonicalFormatter::new());
    body.serialize(&mut ser).map_err(|e| err(e.to_string()))?;
    let rng = SystemRandom::new();
    let mut signatures = Vec::with_capacity(signers.len());
    for s in signers {
        // Twice the same key would be counted once by clients anyway; listing it twice
        // is how an attacker pads a threshold, so never produce it.
        if signatures.iter().any(|sig: &Signature| sig.keyid == s.keyid) {
            continue;
        }
        let sig =
            s.sign.sign(&canonical, &rng).await.map_err(|e| err(format!("{}: {e}", s.label)))?;
        signatures.push(Signature { keyid: s.keyid.clone(), sig: sig.into() });
    }
    Ok(Signed { signed: body, signatures })
}

/// The file form, as `tough` itself writes it (pretty JSON and a final newline); the
/// hash and length other roles record are of exactly these bytes.
pub fn encode<T: Serialize>(signed: &Signed<T>) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(signed).expect("TUF metadata serialises");
    bytes.push(b'\n');
    bytes
}
