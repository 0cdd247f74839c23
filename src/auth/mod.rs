//! Who may do what over the API (issue 7): roles and bearer tokens.
//!
//! A token is 256 random bits, so its SHA-256 is all the store needs: nobody can
//! guess a preimage, and a fast hash keeps every authenticated request fast (a
//! password-stretching hash would only add latency — it protects weak secrets, and
//! these are not weak).

mod cache;
mod caller;
mod gate;
pub mod rate;
mod role;
mod token;

pub use cache::{TTL as TOKEN_CACHE_TTL, TokenCache};
pub use caller::{Caller, TokenId};
pub use gate::Auth;
pub use role::{Role, RoleError};
pub use token::{PREFIX as TOKEN_PREFIX, TokenError, TokenSecret, hash_token, valid_name};
