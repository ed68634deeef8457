//! What the machine offers a local model: physical cores, free memory and
//! free disk space.

use super::{model_error, MEMORY_MARGIN};
use crate::types::error::EngineError;
use std::path::Path;

/// Physical cores (hyper-threads not counted): llama.cpp runs fastest with
/// one thread per core. Falls back to the logical CPUs where the count is
/// not known.
pub fn physical_cores() -> usize {
    let logical = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    #[cfg(target_os = "linux")]
    if let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") {
        if let Some(n) = count_cores(&info) {
            return n.clamp(1, logical);
        }
    }
    logical
}

/// Distinct (physical id, core id) pairs of a `/proc/cpuinfo`.
fn count_cores(cpuinfo: &str) -> Option<usize> {
    let mut cores = std::collections::HashSet::new();
    let (mut physical, mut core) = (None, None);
    for line in cpuinfo.lines().chain(std::iter::once("")) {
        let mut parts = line.splitn(2, ':');
        let key = parts.next().unwrap_or("").trim();
        let value = parts.next().map(str::trim);
        match key {
            "physical id" => physical = value.map(str::to_owned),
            "core id" => core = value.map(str::to_owned),
            "" => {
                if let Some(c) = core.take() {
                    cores.insert((physical.take(), c));
                }
                physical = None;
            }
            _ => {}
        }
    }
    (!cores.is_empty()).then_some(cores.len())
}

/// Bytes of memory available to a new allocation, where the system says.
pub fn available_memory() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let info = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Refuses a model of `file_size` bytes that would not fit in free memory
/// (with a margin for its context), before llama.cpp tries to load it.
pub fn check_fits(file_size: u64) -> Result<(), EngineError> {
    fits_in(file_size, available_memory())
}

/// The check behind [`check_fits`], for `free` bytes (None: the system does
/// not say, and the load is tried). The bar is the file plus
/// [`MEMORY_MARGIN`], the least a model runs in: the catalog's "memory
/// needed" is a comfortable figure above it.
fn fits_in(file_size: u64, free: Option<u64>) -> Result<(), EngineError> {
    let Some(free) = free else {
        return Ok(());
    };
    let need = file_size.saturating_add(MEMORY_MARGIN);
    if need > free {
        return Err(model_error(format!(
            "This model needs about {} of memory and {} is free: close other programs or pick a smaller model.",
            human_bytes(need),
            human_bytes(free)
        )));
    }
    Ok(())
}

/// Free bytes on the file system holding `dir`, where the system says.
pub fn free_disk(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs.
        let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
        if rc != 0 {
            return None;
        }
        #[allow(clippy::unnecessary_cast)]
        Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// A size for people: `1.2 GB`, `380 MB`.
pub fn human_bytes(n: u64) -> String {
    const GB: f64 = 1_000_000_000.0;
    const MB: f64 = 1_000_000.0;
    let f = n as f64;
    if f >= GB {
        format!("{:.1} GB", f / GB)
    } else if f >= MB {
        format!("{:.0} MB", f / MB)
    } else {
        format!("{:.0} KB", (f / 1000.0).max(1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_that_does_not_fit_in_free_memory_is_refused_before_loading() {
        const GB: u64 = 1_000_000_000;
        let e = fits_in(GB, Some(GB)).expect_err("1 GB does not run in 1 GB");
        let msg = e.to_string();
        assert!(
            msg.contains("needs about 1.3 GB") && msg.contains("1.0 GB is free"),
            "{msg}"
        );
        assert!(msg.contains("pick a smaller model"), "{msg}");
        assert!(fits_in(GB, Some(GB + MEMORY_MARGIN)).is_ok(), "just enough");
        assert!(fits_in(GB, None).is_ok(), "the system does not say: tried");
        assert!(
            fits_in(u64::MAX, Some(u64::MAX - 1)).is_err(),
            "no overflow"
        );
    }

    #[test]
    fn hyper_threads_are_not_counted_as_cores() {
        let info = "processor : 0\nphysical id : 0\ncore id : 0\n\nprocessor : 1\nphysical id : 0\ncore id : 0\n\nprocessor : 2\nphysical id : 0\ncore id : 1\n\nprocessor : 3\nphysical id : 0\ncore id : 1\n";
        assert_eq!(count_cores(info), Some(2));
        assert_eq!(count_cores("processor : 0\n"), None);
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(1_055_609_824), "1.1 GB");
        assert_eq!(human_bytes(270_590_880), "271 MB");
    }
}
