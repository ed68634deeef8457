//! Runnel's own files are private: on Unix its data and config dirs are
//! created (or tightened to) 0700 and the files it writes 0600, so nothing
//! kept there (conversations, settings, logs, exports, backups, models) is
//! readable by other users. Elsewhere these are plain creates and writes.

use std::fs::OpenOptions;
use std::io;
use std::path::Path;

/// Mode of Runnel's own folders (Unix).
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of the files Runnel writes (Unix).
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its parents) and makes `dir` itself private.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    set_mode(dir, PRIVATE_DIR_MODE)
}

/// Open options that create a file private to the user.
pub fn private_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(PRIVATE_FILE_MODE);
    }
    o
}

/// Writes `bytes` to `path` (created or replaced), private to the user.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut f = private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    make_private(path)?;
    f.write_all(bytes)
}

/// Makes an existing file private (a file created before this build, or by
/// a library such as SQLite); a missing file is not an error.
pub fn make_private(path: &Path) -> io::Result<()> {
    match set_mode(path, PRIVATE_FILE_MODE) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn dirs_are_0700_and_files_0600_even_when_they_existed() {
        let base = std::env::temp_dir().join(format!("runnel-files-{}", std::process::id()));
        let dir = base.join("app");
        std::fs::create_dir_all(&dir).expect("dir");
        set_mode(&dir, 0o755).expect("chmod");
        private_dir(&dir).expect("private dir");
        assert_eq!(mode(&dir), 0o700);
        let f = dir.join("f");
        std::fs::write(&f, b"old").expect("write");
        set_mode(&f, 0o644).expect("chmod");
        write_private(&f, b"new").expect("write private");
        assert_eq!(mode(&f), 0o600);
        assert_eq!(std::fs::read(&f).expect("read"), b"new");
        let _ = std::fs::remove_dir_all(&base);
    }
}
