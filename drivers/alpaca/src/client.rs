//! One Alpaca device: its members read and set through the envelope, with the
//! ClientID and a ClientTransactionID on every call, and every failure mapped to one
//! error that names the device, the member and what to do.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;
use teld_driver_protocol::ErrorCode;
use teld_driver_protocol::serve::CallError;

use crate::address::Address;
use crate::envelope::{self, AlpacaError, AscomCode};
use crate::http::{self, HttpError, Server, Wait};
use crate::imagebytes::{self, Image, ImageBytesError};

const IMAGEBYTES: &str = "application/imagebytes";

/// Shared by every device of one driver: the ClientID and the transaction counter.
pub struct Session {
    pub client_id: u32,
    next: AtomicU32,
}

impl Session {
    pub fn new(client_id: u32) -> Self {
        Session { client_id, next: AtomicU32::new(1) }
    }

    fn transaction(&self) -> u32 {
        // Wraps after 4e9 calls; 0 is skipped, servers use it for "none".
        let t = self.next.fetch_add(1, Ordering::Relaxed);
        if t == 0 { self.next.fetch_add(1, Ordering::Relaxed) } else { t }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{address} {member}: {source}")]
    Http { address: String, member: String, source: HttpError },
    #[error("{address} {member}: {source}")]
    Alpaca { address: String, member: String, source: AlpacaError },
    #[error("{address} {member}: {source}")]
    Image { address: String, member: String, source: ImageBytesError },
    #[error(
        "{address} {member}: answered {got}, expected {expected}; the server does not follow the Alpaca API for this member"
    )]
    Shape { address: String, member: String, expected: &'static str, got: String },
}

impl Failure {
    pub fn code(&self) -> ErrorCode {
        match self {
            Failure::Http { source: HttpError::Timeout { .. }, .. } => ErrorCode::Timeout,
            Failure::Http { source: HttpError::Connect { .. }, .. } => ErrorCode::NotConnected,
            Failure::Alpaca { source: AlpacaError::Device { code, .. }, .. } => match code {
                AscomCode::NotImplemented => ErrorCode::NotImplemented,
                AscomCode::InvalidValue | AscomCode::ValueNotSet => ErrorCode::InvalidValue,
                AscomCode::NotConnected => ErrorCode::NotConnected,
                // 0x40C is misused for "not idle" by some servers: a state problem.
                AscomCode::InvalidWhileParked
                | AscomCode::InvalidWhileSlaved
                | AscomCode::InvalidOperation
                | AscomCode::ActionNotImplemented => ErrorCode::InvalidOperation,
                AscomCode::DriverSpecific(_) | AscomCode::Other(_) => ErrorCode::DeviceFault,
            },
            _ => ErrorCode::DeviceFault,
        }
    }

    /// The device answered that it does not implement the member.
    pub fn not_implemented(&self) -> bool {
        match self {
            Failure::Alpaca { source: AlpacaError::Device { code, .. }, .. } => {
                *code == AscomCode::NotImplemented
            }
            Failure::Alpaca { source: AlpacaError::Rejected { status, .. }, .. } => *status == 404,
            _ => false,
        }
    }
}

impl From<Failure> for CallError {
    fn from(f: Failure) -> Self {
        CallError::new(f.code(), f.to_string())
    }
}

/// How long members may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Any member but the image.
    pub call: Wait,
    /// `imagearray`: the server may take a while before the first byte.
    pub image: Wait,
}

pub struct Endpoint {
    pub address: Address,
    server: Arc<Server>,
    session: Arc<Session>,
    timeouts: Timeouts,
}

impl Endpoint {
    pub fn new(
        address: Address,
        server: Arc<Server>,
        session: Arc<Session>,
        timeouts: Timeouts,
    ) -> Self {
        Endpoint { address, server, session, timeouts }
    }

    fn ids(&self) -> (u32, Vec<(&'static str, String)>) {
        let tx = self.session.transaction();
        let ids = vec![
            ("ClientID", self.session.client_id.to_string()),
            ("ClientTransactionID", tx.to_string()),
        ];
        (tx, ids)
    }

    fn http_failure(&self, member: &str, source: HttpError) -> Failure {
        Failure::Http { address: self.address.to_string(), member: member.into(), source }
    }

    fn alpaca_failure(&self, member: &str, source: AlpacaError) -> Failure {
        Failure::Alpaca { address: self.address.to_string(), member: member.into(), source }
    }

    pub fn shape(&self, member: &str, expected: &'static str, got: &Value) -> Failure {
        let got = got.to_string();
        Failure::Shape { address: self.address.to_string(), member: member.into(), expected, got }
    }

    /// GET a member's value.
    pub async fn get(&self, member: &str) -> Result<Value, Failure> {
        self.get_with(member, &[]).await
    }

    /// GET a member that takes parameters (e.g. `SensorName`).
    pub async fn get_with(
        &self,
        member: &str,
        params: &[(&str, String)],
    ) -> Result<Value, Failure> {
        let (tx, mut pairs) = self.ids();
        pairs.extend(params.iter().cloned());
        let path = format!("{}?{}", self.address.member_path(member), http::form(&pairs));
        let reply = self
            .server
            .send(&path, None, "application/json", self.timeouts.call)
            .await
            .map_err(|e| self.http_failure(member, e))?;
        envelope::decode(reply.status, &reply.body, tx).map_err(|e| self.alpaca_failure(member, e))
    }

    /// PUT a member with its parameters in the form body (names in the spec's casing).
    pub async fn put(&self, member: &str, params: &[(&str, String)]) -> Result<Value, Failure> {
        let (tx, mut pairs) = self.ids();
        pairs.extend(params.iter().cloned());
        let path = self.address.member_path(member);
        let reply = self
            .server
            .send(&path, Some(http::form(&pairs)), "application/json", self.timeouts.call)
            .await
            .map_err(|e| self.http_failure(member, e))?;
        envelope::decode(reply.status, &reply.body, tx).map_err(|e| self.alpaca_failure(member, e))
    }

    pub async fn get_bool(&self, member: &str) -> Result<bool, Failure> {
        let v = self.get(member).await?;
        v.as_bool().ok_or_else(|| self.shape(member, "true or false", &v))
    }

    pub async fn get_f64(&self, member: &str) -> Result<f64, Failure> {
        let v = self.get(member).await?;
        v.as_f64().ok_or_else(|| self.shape(member, "a number", &v))
    }

    pub async fn get_i64(&self, member: &str) -> Result<i64, Failure> {
        let v = self.get(member).await?;
        v.as_i64().ok_or_else(|| self.shape(member, "a whole number", &v))
    }

    pub async fn get_string(&self, member: &str) -> Result<String, Failure> {
        let v = self.get(member).await?;
        v.as_str().map(str::to_string).ok_or_else(|| self.shape(member, "a string", &v))
    }

    /// A capability flag; a server that does not know the member has not got it.
    pub async fn can(&self, member: &str) -> Result<bool, Failure> {
        match self.get_bool(member).await {
            Err(e) if e.not_implemented() => Ok(false),
            other => other,
        }
    }

    /// The camera's last image, as ImageBytes. A JSON answer is the server's error
    /// (or a server without ImageBytes, which teld does not read: JSON arrays of a
    /// large frame take seconds and gigabytes).
    pub async fn image(&self) -> Result<Image, Failure> {
        let member = "imagearray";
        let (tx, ids) = self.ids();
        let path = format!("{}?{}", self.address.member_path(member), http::form(&ids));
        let reply = self
            .server
            .send(&path, None, IMAGEBYTES, self.timeouts.image)
            .await
            .map_err(|e| self.http_failure(member, e))?;
        if reply.status == 200 && reply.content_type.starts_with(IMAGEBYTES) {
            let image = imagebytes::decode(&reply.body).map_err(|source| Failure::Image {
                address: self.address.to_string(),
                member: member.into(),
                source,
            })?;
            if image.client_transaction_id != 0 && image.client_transaction_id != tx {
                let crossed = AlpacaError::Crossed { sent: tx, got: image.client_transaction_id };
                return Err(self.alpaca_failure(member, crossed));
            }
            return Ok(image);
        }
        match envelope::decode(reply.status, &reply.body, tx) {
            Err(e) => Err(self.alpaca_failure(member, e)),
            Ok(_) => Err(Failure::Shape {
                address: self.address.to_string(),
                member: member.into(),
                expected: "an ImageBytes answer (application/imagebytes)",
                got: "a JSON image array; use a server with ImageBytes (Alpaca Platform 6.5 or later)"
                    .into(),
            }),
        }
    }
}
