//! `trent encrypt` and `trent decrypt`: stream a file or stdin through the library's envelope
//! encryption into a file or stdout. A file is written as a temporary file beside it, synced and
//! renamed into place only when the whole envelope was written (or every chunk verified), and
//! removed otherwise, so a failed or interrupted run never leaves a plausible-looking output.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use trent_client::envelope::{self, DecryptOptions, EnvelopeOptions, EnvelopeSummary};
use trent_client::wire::data_plane::EncryptionContext;
use trent_client::TrentClient;

use super::args::{DataPath, DecryptArgs, EncryptArgs};
use super::{eprint_line, print_line, render};

/// Runs `trent encrypt`.
pub async fn encrypt(client: &TrentClient, json: bool, args: EncryptArgs) -> anyhow::Result<()> {
    let context = context_from_entries(args.context)?;
    let options = EnvelopeOptions { chunk_size: args.chunk_size };
    let input = open_input(&args.input).await?;
    let mut output = Output::create(&args.output).await?;
    let sealed = envelope::encrypt(client, &args.key_id, &context, &options, input, output.writer());
    let summary = until_interrupted(sealed).await?;
    output.commit().await?;
    report(json, &args.output, "encrypted", &summary)
}

/// Runs `trent decrypt`.
pub async fn decrypt(client: &TrentClient, json: bool, args: DecryptArgs) -> anyhow::Result<()> {
    let options =
        DecryptOptions { key_id: args.key_id, required_context: context_from_entries(args.context)? };
    let input = open_input(&args.input).await?;
    let mut output = Output::create(&args.output).await?;
    let opened = envelope::decrypt(client, &options, input, output.writer());
    let summary = until_interrupted(opened).await?;
    output.commit().await?;
    report(json, &args.output, "decrypted", &summary)
}

/// The context from `--context` entries; a key given twice is a mistake, not an override.
pub(super) fn context_from_entries(entries: Vec<(String, String)>) -> anyhow::Result<EncryptionContext> {
    let mut context = EncryptionContext::new();
    for (key, value) in entries {
        if context.contains_key(&key) {
            bail!("--context {key:?} is given more than once");
        }
        context.insert(key, value);
    }
    Ok(context)
}

/// Runs `work` unless Ctrl-C comes first; either way the caller drops the output on error,
/// which removes a temporary file.
async fn until_interrupted(
    work: impl std::future::Future<Output = Result<EnvelopeSummary, envelope::EnvelopeError>>,
) -> anyhow::Result<EnvelopeSummary> {
    tokio::select! {
        outcome = work => Ok(outcome?),
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
    }
}

/// The summary: on stdout, unless the data went there, then on stderr.
fn report(json: bool, output: &DataPath, verb: &str, summary: &EnvelopeSummary) -> anyhow::Result<()> {
    let text =
        if json { serde_json::to_string_pretty(summary)? } else { render::envelope_summary(verb, summary) };
    match output {
        DataPath::Standard => eprint_line(&text),
        DataPath::File(_) => print_line(&text),
    }
}

type Input = Box<dyn AsyncRead + Unpin + Send>;

async fn open_input(path: &DataPath) -> anyhow::Result<Input> {
    match path {
        DataPath::Standard => Ok(Box::new(tokio::io::stdin())),
        DataPath::File(path) => {
            let file = tokio::fs::File::open(path)
                .await
                .with_context(|| format!("cannot open the input {}", path.display()))?;
            Ok(Box::new(file))
        }
    }
}

/// Where the data goes: stdout, or a temporary file that becomes `target` on [`commit`] and is
/// removed if dropped before. The key commands (`trent sign`, ...) write their files with it too.
///
/// [`commit`]: Output::commit
pub(super) enum Output {
    Stdout(tokio::io::Stdout),
    File { file: tokio::fs::File, temporary: tempfile::TempPath, target: PathBuf },
}

impl Output {
    /// Opens the destination: for a file, a new temporary file in the target's directory (so
    /// the final rename stays on one filesystem and is atomic), readable by its owner only.
    pub(super) async fn create(path: &DataPath) -> anyhow::Result<Output> {
        let target = match path {
            DataPath::Standard => return Ok(Output::Stdout(tokio::io::stdout())),
            DataPath::File(target) => target.clone(),
        };
        let name = target
            .file_name()
            .with_context(|| format!("the output {} does not name a file", target.display()))?;
        let directory = directory_of(&target).to_owned();
        let prefix = format!(".{}.", name.to_string_lossy());
        let temporary = tokio::task::spawn_blocking(move || {
            tempfile::Builder::new().prefix(&prefix).suffix(".partial").tempfile_in(&directory)
        })
        .await
        .context("the task creating the temporary file failed")?
        .with_context(|| format!("cannot create a temporary file beside {}", target.display()))?;
        let (file, temporary) = temporary.into_parts();
        Ok(Output::File { file: tokio::fs::File::from_std(file), temporary, target })
    }

    pub(super) fn writer(&mut self) -> &mut (dyn AsyncWrite + Unpin + Send) {
        match self {
            Output::Stdout(stdout) => stdout,
            Output::File { file, .. } => file,
        }
    }

    /// Makes the output final: flushes stdout, or syncs the temporary file, renames it over the
    /// target and syncs the directory, so the target is either absent, the old file, or complete.
    pub(super) async fn commit(self) -> anyhow::Result<()> {
        match self {
            Output::Stdout(mut stdout) => stdout.flush().await.context("cannot flush stdout"),
            Output::File { mut file, temporary, target } => {
                file.flush().await.context("cannot write the output")?;
                file.sync_all().await.context("cannot sync the output to disk")?;
                drop(file);
                tokio::task::spawn_blocking(move || {
                    temporary.persist(&target).with_context(|| {
                        format!("cannot rename the output into place as {}", target.display())
                    })?;
                    sync_directory(directory_of(&target))
                })
                .await
                .context("the task renaming the output failed")?
            }
        }
    }
}

/// The directory a path's file lives in (`.` for a bare file name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Makes a rename in `directory` durable.
#[cfg(unix)]
fn sync_directory(directory: &Path) -> anyhow::Result<()> {
    std::fs::File::open(directory)
        .and_then(|dir| dir.sync_all())
        .with_context(|| format!("cannot sync the directory {}", directory.display()))
}

/// Directories cannot be opened for syncing here; the rename stands as the platform makes it.
#[cfg(not(unix))]
fn sync_directory(_directory: &Path) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_context_keys_are_refused() {
        let entries = vec![("a".to_owned(), "1".to_owned()), ("b".to_owned(), "2".to_owned())];
        assert_eq!(context_from_entries(entries).unwrap().len(), 2);
        let repeated = vec![("a".to_owned(), "1".to_owned()), ("a".to_owned(), "1".to_owned())];
        assert!(context_from_entries(repeated).is_err());
    }

    #[test]
    fn bare_file_names_live_in_the_current_directory() {
        assert_eq!(directory_of(Path::new("out.bin")), Path::new("."));
        assert_eq!(directory_of(Path::new("dir/out.bin")), Path::new("dir"));
        assert_eq!(directory_of(Path::new("/out.bin")), Path::new("/"));
    }

    #[tokio::test]
    async fn a_file_appears_only_on_commit_and_a_dropped_output_leaves_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let target = directory.path().join("out.bin");
        let path = DataPath::File(target.clone());

        let mut dropped = Output::create(&path).await.unwrap();
        dropped.writer().write_all(b"half").await.unwrap();
        drop(dropped);
        assert_eq!(std::fs::read_dir(directory.path()).unwrap().count(), 0, "no output, no temporary file");

        let mut committed = Output::create(&path).await.unwrap();
        committed.writer().write_all(b"whole").await.unwrap();
        assert!(!target.exists());
        committed.commit().await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(directory.path()).unwrap().count(), 1);
    }
}
