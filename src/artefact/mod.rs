//! The CI side of signed driver updates (`teld artefact …`): a TUF repository of driver
//! builds, made and signed with `tough`'s types and keys read through its `KeySource`
//! trait, written so any static file server or a USB stick can serve it.
//!
//! - [`init`]: keys (root 2-of-3, one each for targets, snapshot, timestamp) and root 1.
//! - [`stage`]: `add` stages a build; publishing is append-only by target name.
//! - [`publish`]: signs and writes; `timestamp.json` last, after [`verify`] passed.
//! - [`rotate`]: root N+1 cross-signed by old and new root keys.

pub mod error;
pub mod expiry;
pub mod init;
pub mod keys;
pub mod publish;
pub mod repo;
pub mod root;
pub mod rotate;
pub mod sign;
pub mod stage;
pub mod verify;

pub use error::ArtefactError;
pub use expiry::{Expiries, Validity};
pub use keys::{FileKeySource, KeyRing, Signer};
pub use publish::{Options, Published, Versions};
pub use repo::{Current, RepoDir};
pub use rotate::Rotation;
pub use stage::Added;
pub use verify::{Verified, VerifiedTarget};
