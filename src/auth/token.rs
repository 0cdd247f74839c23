//! Token secrets: made from the OS's random source, shown once, stored as a hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Tokens start with this, so a leaked one is recognisable (secret scanners, logs).
pub const PREFIX: &str = "teld_";
/// Random bytes per token: 256 bits.
const SECRET_BYTES: usize = 32;
/// Characters of the secret shown in lists, after the prefix.
const HINT_CHARS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the operating system's random source failed ({0}); tokens cannot be made safely")]
    Random(String),
}

/// A new token. `Debug` does not show the secret.
pub struct TokenSecret {
    secret: String,
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenSecret({})", self.hint())
    }
}

impl TokenSecret {
    pub fn generate() -> Result<Self, TokenError> {
        let mut bytes = [0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
        Ok(TokenSecret { secret: format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)) })
    }

    /// The secret itself: print it once, never log it.
    pub fn expose(&self) -> &str {
        &self.secret
    }

    pub fn hash(&self) -> [u8; 32] {
        hash_token(&self.secret)
    }

    /// `teld_Ab3x…`: enough to tell tokens apart, useless to an attacker.
    pub fn hint(&self) -> String {
        let body: String = self.secret[PREFIX.len()..].chars().take(HINT_CHARS).collect();
        format!("{PREFIX}{body}…")
    }
}

/// Token names appear in logs and the audit log: short, printable, no spaces.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_graphic())
}

/// What the store keeps of a token, and what a presented token is looked up by.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_stored_only_as_a_hash() {
        let a = TokenSecret::generate().unwrap();
        let b = TokenSecret::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        // 32 bytes of base64url without padding: 43 characters after the prefix.
        assert!(a.expose().starts_with(PREFIX));
        assert_eq!(a.expose().len(), PREFIX.len() + 43);
        assert_eq!(a.hash(), hash_token(a.expose()));
        assert_ne!(a.hash(), b.hash());
        assert!(a.expose().starts_with(a.hint().trim_end_matches('…')));
        assert!(!format!("{a:?}").contains(a.expose()), "Debug hides the secret");
        // SHA-256 test vector: the hash is the standard one.
        let h = hash_token("abc");
        assert_eq!(h[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}
