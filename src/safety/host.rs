//! Inputs from the host itself: is the system clock disciplined, is there room on
//! the disk for tonight's frames.

use std::path::Path;

use serde::Deserialize;

/// How `safety.clock_sync` checks the system clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockCheck {
    /// Ask the kernel (`adjtimex`): NTP/PTP daemons such as chrony keep its
    /// synchronised flag and error bound up to date.
    #[default]
    Kernel,
    /// Trust the clock (a site that disciplines time some way the kernel cannot
    /// see). Pointing then rests on the operator's word.
    Ignore,
}

/// Whether the kernel says the clock is synchronised within `max_error_ms`, and if
/// not, why (for the verdict's reason).
pub fn clock_synchronised(max_error_ms: f64) -> Result<(), String> {
    // SAFETY: adjtimex with modes = 0 only reads; the struct is plain data that the
    // kernel fills in.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    let state = unsafe { libc::adjtimex(&mut tx) };
    if state < 0 {
        return Err(format!("cannot read the clock state: {}", std::io::Error::last_os_error()));
    }
    if state == libc::TIME_ERROR {
        return Err("system clock not synchronised (no NTP/PTP lock); check chrony/ntpd, or set safety.clock_sync = \"ignore\"".into());
    }
    if tx.maxerror as f64 / 1000.0 > max_error_ms {
        return Err(format!(
            "system clock error bound above safety.max_clock_error_ms = {max_error_ms}; check chrony/ntpd"
        ));
    }
    Ok(())
}

/// Bytes available to teld on the filesystem holding `path`.
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c` is a valid NUL-terminated path and `st` a plain struct the call fills.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_answers_about_the_clock() {
        // Synchronised or not depends on the machine; either way the answer is an
        // answer, never a failure to ask.
        if let Err(why) = clock_synchronised(1000.0) {
            assert!(!why.starts_with("cannot read"), "{why}");
        }
    }

    #[test]
    fn free_space_is_read_and_a_missing_folder_is_an_error() {
        let here = free_bytes(Path::new(".")).unwrap();
        assert!(here > 0);
        assert!(free_bytes(Path::new("/no/such/folder")).is_err());
    }
}
