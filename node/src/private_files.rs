//! Files and directories only this user may read: the dev credentials (which hold an unseal
//! share and a secret key), the dev peer secret, and the data directory (sealed secrets). Made
//! 0600 and 0700 from the start, not tightened after a window in which they were readable.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// File mode of private files.
pub const FILE_MODE: u32 = 0o600;
/// Directory mode of private directories.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` (and missing parents) as 0700, or makes an existing one 0700.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))
}

/// Writes `bytes` to `path` as a 0600 file, replacing what was there.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    write_new(path, bytes)
}

/// Writes `bytes` to a new 0600 file at `path`; fails if it exists.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Replaces `path` with a 0600 file holding `bytes`, atomically: a crash leaves the old file
/// or the new one, never a torn one (written beside it, synced, renamed, the directory synced).
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)?;
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// Files this process creates from now on are private (umask 077): sled's files and snapshots
/// among them.
pub fn private_by_default() {
    // SAFETY: umask(2) only sets the process's file mode creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn private_files_and_directories_have_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_dir(&nested).unwrap();
        assert_eq!(mode(&nested), DIR_MODE);
        std::fs::set_permissions(&nested, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_dir(&nested).unwrap();
        assert_eq!(mode(&nested), DIR_MODE, "an existing directory is tightened");
        let file = nested.join("secret");
        write(&file, b"one").unwrap();
        write(&file, b"two").unwrap();
        assert_eq!(mode(&file), FILE_MODE);
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        assert!(write_new(&file, b"three").is_err(), "write_new never overwrites");
        replace(&file, b"four").unwrap();
        assert_eq!((std::fs::read(&file).unwrap(), mode(&file)), (b"four".to_vec(), FILE_MODE));
        assert!(!nested.join("secret.tmp").exists(), "the temporary file was renamed");
    }
}
