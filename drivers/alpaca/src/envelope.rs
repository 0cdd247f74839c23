//! The Alpaca response envelope: `{"Value": …, "ErrorNumber": 0, "ErrorMessage": "",
//! "ClientTransactionID": n, "ServerTransactionID": m}`. A device error is HTTP 200
//! with a non-zero `ErrorNumber`; HTTP errors carry whatever the server's framework
//! sends (FastAPI: `{"detail": …}`), or nothing useful at all.

use serde::Deserialize;
use serde_json::Value;

/// ASCOM error numbers (Alpaca API, "Error handling"); driver-specific ones are
/// 0x500 to 0xFFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AscomCode {
    NotImplemented,
    InvalidValue,
    ValueNotSet,
    NotConnected,
    InvalidWhileParked,
    InvalidWhileSlaved,
    InvalidOperation,
    ActionNotImplemented,
    /// 0x500-0xFFF: the driver's own.
    DriverSpecific(i32),
    /// Anything else (some servers use unassigned codes, e.g. 0x40D).
    Other(i32),
}

impl AscomCode {
    pub fn from_number(n: i32) -> AscomCode {
        match n {
            0x400 => AscomCode::NotImplemented,
            0x401 => AscomCode::InvalidValue,
            0x402 => AscomCode::ValueNotSet,
            0x407 => AscomCode::NotConnected,
            0x408 => AscomCode::InvalidWhileParked,
            0x409 => AscomCode::InvalidWhileSlaved,
            0x40B => AscomCode::InvalidOperation,
            0x40C => AscomCode::ActionNotImplemented,
            0x500..=0xFFF => AscomCode::DriverSpecific(n),
            _ => AscomCode::Other(n),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AlpacaError {
    /// The device refused or failed (HTTP 200, `ErrorNumber` set).
    #[error("device error 0x{number:X} ({code:?}): {message}")]
    Device { number: i32, code: AscomCode, message: String },
    /// The server refused the request itself (bad parameter, unknown member, wrong
    /// verb): a bug in the driver or a server that differs from the standard.
    #[error(
        "HTTP {status} from the Alpaca server: {detail}; check the device address and that the server implements this member"
    )]
    Rejected { status: u16, detail: String },
    /// Not an Alpaca answer at all (a proxy page, a truncated body).
    #[error(
        "HTTP {status}: the answer is not an Alpaca response ({problem}); is something else listening on that port?"
    )]
    Malformed { status: u16, problem: String },
    /// The answer belongs to another request: transaction ids must match.
    #[error(
        "the answer carries ClientTransactionID {got}, the request sent {sent}: answers are crossed; the connection is reset"
    )]
    Crossed { sent: u32, got: u32 },
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Value")]
    value: Option<Value>,
    #[serde(rename = "ErrorNumber", default)]
    error_number: i32,
    #[serde(rename = "ErrorMessage", default)]
    error_message: String,
    #[serde(rename = "ClientTransactionID")]
    client_transaction_id: Option<u32>,
}

/// Decodes a member's answer: its `Value` (`Null` for methods without one) or the
/// error. `sent` is the request's ClientTransactionID; a non-zero echo that differs is
/// refused (servers that echo 0 on errors, as the PyPI simulators do for form-body
/// ids, are accepted).
pub fn decode(status: u16, body: &[u8], sent: u32) -> Result<Value, AlpacaError> {
    let text = String::from_utf8_lossy(body);
    if status != 200 {
        return Err(match serde_json::from_slice::<Value>(body) {
            Ok(v) if v.get("ErrorNumber").is_some() => device_error(&v)
                .unwrap_or_else(|| AlpacaError::Rejected { status, detail: v.to_string() }),
            Ok(v) => AlpacaError::Rejected { status, detail: framework_detail(&v) },
            Err(_) if text.trim().is_empty() => {
                AlpacaError::Rejected { status, detail: "empty body".into() }
            }
            Err(_) => AlpacaError::Rejected { status, detail: clip(&text) },
        });
    }
    let env: Envelope = serde_json::from_slice(body)
        .map_err(|e| AlpacaError::Malformed { status, problem: format!("{e}: {}", clip(&text)) })?;
    if let Some(got) = env.client_transaction_id
        && got != 0
        && got != sent
    {
        return Err(AlpacaError::Crossed { sent, got });
    }
    if env.error_number != 0 {
        return Err(AlpacaError::Device {
            number: env.error_number,
            code: AscomCode::from_number(env.error_number),
            message: env.error_message,
        });
    }
    Ok(env.value.unwrap_or(Value::Null))
}

fn device_error(v: &Value) -> Option<AlpacaError> {
    let number = i32::try_from(v.get("ErrorNumber")?.as_i64()?).ok()?;
    let message = v.get("ErrorMessage").and_then(Value::as_str).unwrap_or("").to_string();
    Some(AlpacaError::Device { number, code: AscomCode::from_number(number), message })
}

/// FastAPI's `{"detail": "Not Found"}` or `{"detail": [{"loc": [...], "msg": ...}]}`,
/// as one line naming the offending parameters.
fn framework_detail(v: &Value) -> String {
    match v.get("detail") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                let loc: Vec<String> = i
                    .get("loc")
                    .and_then(Value::as_array)
                    .map(|l| {
                        l.iter().map(|p| p.as_str().map_or(p.to_string(), str::to_string)).collect()
                    })
                    .unwrap_or_default();
                let msg = i.get("msg").and_then(Value::as_str).unwrap_or("invalid");
                format!("{}: {msg}", loc.join("."))
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => clip(&v.to_string()),
    }
}

fn clip(s: &str) -> String {
    const MAX: usize = 200;
    let s = s.trim();
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
