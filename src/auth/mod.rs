//! Who may do what over the API (issue 7): roles and bearer tokens.
//!
//! A token is 256 random bits, so its SHA-256 is all the store needs: nobody can
//! guess a preimage, and a fast hash keeps every authenticated request fast (a
//! password-stretching hash would only add latency — it protects weak secrets, and
//! these are not weak).

mod caller;
mod role;
mod token;

pub use caller::{Caller, TokenId};
pub use role::{Role, RoleError};
pub use token::{TokenError, TokenSecret, hash_token};
