//! Secrets an operator hands a node in a file: the plaintext cluster's peer secret and the init
//! token. Read once at start, bounded, whitespace around them trimmed, zeroized when dropped.

use std::io::Read;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// Shortest secret accepted, bytes of the file's trimmed text.
pub const MIN_SECRET_BYTES: usize = 32;
/// Longest secret file read.
pub const MAX_SECRET_FILE_BYTES: u64 = 4096;

/// Why a secret file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file holds too little (or too much) to be a secret.
    #[error("{path} must hold {MIN_SECRET_BYTES} to {MAX_SECRET_FILE_BYTES} bytes of text (e.g. `openssl rand -hex 32 > {path}`)")]
    BadLength {
        /// The file.
        path: PathBuf,
    },
    /// The random source failed.
    #[error("the random number generator failed")]
    Random,
}

/// The trimmed contents of the secret file at `path`.
pub fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, SecretFileError> {
    let failed = |source| SecretFileError::Read { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(failed)?;
    let mut text = Zeroizing::new(Vec::new());
    file.take(MAX_SECRET_FILE_BYTES + 1).read_to_end(&mut text).map_err(failed)?;
    let trimmed = text.trim_ascii();
    if trimmed.len() < MIN_SECRET_BYTES || text.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(SecretFileError::BadLength { path: path.to_path_buf() });
    }
    Ok(Zeroizing::new(trimmed.to_vec()))
}

/// A new random secret as 64 hex characters.
pub fn generate() -> Result<Zeroizing<String>, SecretFileError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    crate::crypto::fill_random(bytes.as_mut_slice()).map_err(|_| SecretFileError::Random)?;
    Ok(Zeroizing::new(bytes.iter().map(|byte| format!("{byte:02x}")).collect()))
}

/// The secret at `path`, made (0600) with a random one first if there is no file.
pub fn read_or_create(path: &Path) -> Result<Zeroizing<Vec<u8>>, SecretFileError> {
    if !path.exists() {
        let secret = generate()?;
        crate::private_files::write_new(path, secret.as_bytes())
            .map_err(|source| SecretFileError::Read { path: path.to_path_buf(), source })?;
    }
    read(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_must_hold_enough_text_and_are_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short");
        std::fs::write(&short, "too short\n").unwrap();
        assert!(matches!(read(&short), Err(SecretFileError::BadLength { .. })));
        let huge = dir.path().join("huge");
        std::fs::write(&huge, "x".repeat(5000)).unwrap();
        assert!(matches!(read(&huge), Err(SecretFileError::BadLength { .. })));
        let good = dir.path().join("good");
        std::fs::write(&good, format!("  {}\n", generate().unwrap().as_str())).unwrap();
        assert_eq!(read(&good).unwrap().len(), 64, "whitespace trimmed");
        assert!(matches!(read(&dir.path().join("absent")), Err(SecretFileError::Read { .. })));
        let made = dir.path().join("made");
        let first = read_or_create(&made).unwrap();
        assert_eq!(read_or_create(&made).unwrap(), first, "made once, then reused");
    }
}
