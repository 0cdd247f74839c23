use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("store URL `{url}` is not valid: {message}; use sqlite://PATH")]
    Url { url: String, message: String },
    #[error(
        "cannot open the store at {url}: {source}; check the state folder exists and is writable"
    )]
    Open { url: String, source: sqlx::Error },
    #[error("cannot create state folder {path}: {source}")]
    StateDir { path: String, source: std::io::Error },
    #[error(
        "store schema migration failed: {0}; the database may be from a newer teld — restore a backup or use a matching version"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored row is unreadable ({what}); the database was edited by hand or is corrupt")]
    Corrupt { what: String },
    #[error("request {0} does not exist")]
    NoSuchRequest(i64),
    #[error("a live token is already called `{0}`; pick another name or revoke that one first")]
    TokenNameTaken(String),
}
