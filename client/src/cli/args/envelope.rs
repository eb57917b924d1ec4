//! `trent encrypt` and `trent decrypt` options: the key, the context, the chunk size and where
//! the data comes from and goes.

use clap::Args;
use trent_client::envelope::ChunkSize;

use super::values::{parse_chunk_size, parse_context_entry, parse_data_path, DataPath};

/// `trent encrypt` options.
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// The KMS key that wraps the data key: key id, key ARN, alias name or alias ARN.
    #[arg(long)]
    pub key_id: String,
    /// An encryption context entry, bound to the data key and stored in the envelope (not
    /// secret); repeat for more.
    #[arg(long = "context", value_name = "KEY=VALUE", value_parser = parse_context_entry)]
    pub context: Vec<(String, String)>,
    /// Plaintext bytes per chunk, 4KiB to 4MiB: a number of bytes, or with a KiB or MiB suffix.
    #[arg(long, value_name = "BYTES", default_value = "64KiB", value_parser = parse_chunk_size)]
    pub chunk_size: ChunkSize,
    /// The file to encrypt, or `-` for stdin.
    #[arg(long, value_name = "PATH|-", value_parser = parse_data_path)]
    pub input: DataPath,
    /// Where to write the envelope, or `-` for stdout. A file appears only once complete.
    #[arg(long, value_name = "PATH|-", value_parser = parse_data_path)]
    pub output: DataPath,
}

/// `trent decrypt` options.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The envelope to decrypt, or `-` for stdin.
    #[arg(long, value_name = "PATH|-", value_parser = parse_data_path)]
    pub input: DataPath,
    /// Where to write the plaintext, or `-` for stdout. A file appears only once every chunk
    /// verified; stdout may receive verified leading chunks of an envelope refused later.
    #[arg(long, value_name = "PATH|-", value_parser = parse_data_path)]
    pub output: DataPath,
    /// The KMS key that must have wrapped the envelope's data key (KMS checks it); any other
    /// key is refused, so a file swapped for one made under another key you can use is caught.
    #[arg(long, required_unless_present = "any_key")]
    pub key_id: Option<String>,
    /// Accept an envelope wrapped under any key this caller may use (no `--key-id` check).
    #[arg(long, conflicts_with = "key_id")]
    pub any_key: bool,
    /// A context entry the envelope must hold, with this value; repeat for more.
    #[arg(long = "context", value_name = "KEY=VALUE", value_parser = parse_context_entry)]
    pub context: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::cli::args::{Cli, Command};
    use clap::Parser;

    use super::*;

    #[test]
    fn parses_encrypt_with_context_chunk_size_and_paths() {
        let cli = Cli::try_parse_from([
            "trent",
            "encrypt",
            "--key-id",
            "alias/backups",
            "--context",
            "purpose=backup",
            "--context",
            "tenant=a=b",
            "--chunk-size",
            "1MiB",
            "--input",
            "data.tar",
            "--output",
            "-",
        ])
        .unwrap();
        let Command::Encrypt(args) = cli.command else { panic!("wrong command: {:?}", cli.command) };
        assert_eq!(args.key_id, "alias/backups");
        let expected = [("purpose".to_owned(), "backup".to_owned()), ("tenant".to_owned(), "a=b".to_owned())];
        assert_eq!(args.context, expected);
        assert_eq!(args.chunk_size.get(), 1024 * 1024);
        assert_eq!(args.input, DataPath::File(PathBuf::from("data.tar")));
        assert_eq!(args.output, DataPath::Standard);
    }

    #[test]
    fn encrypt_defaults_to_64_kib_chunks_and_needs_key_input_and_output() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["trent", "encrypt"][..], args].concat());
        let cli = parse(&["--key-id", "k", "--input", "-", "--output", "out"]).unwrap();
        let Command::Encrypt(args) = cli.command else { panic!("wrong command: {:?}", cli.command) };
        assert_eq!(args.chunk_size, ChunkSize::DEFAULT);
        assert!(args.context.is_empty());
        assert!(parse(&["--input", "-", "--output", "out"]).is_err(), "--key-id is required");
        assert!(parse(&["--key-id", "k", "--output", "out"]).is_err(), "--input is required");
        assert!(parse(&["--key-id", "k", "--input", "-"]).is_err(), "--output is required");
        let bad_chunk = ["--key-id", "k", "--input", "-", "--output", "o", "--chunk-size"];
        for size in ["1KiB", "8MiB", "lots", "64kb", ""] {
            assert!(parse(&[&bad_chunk[..], &[size]].concat()).is_err(), "chunk size {size:?}");
        }
        assert!(parse(&["--key-id", "k", "--input", "-", "--output", "o", "--context", "novalue"]).is_err());
    }

    #[test]
    fn parses_decrypt_with_a_key_or_an_explicit_any_key_and_required_context() {
        let cli = Cli::try_parse_from([
            "trent",
            "--json",
            "decrypt",
            "--any-key",
            "--input",
            "-",
            "--output",
            "plain",
        ])
        .unwrap();
        assert!(cli.json);
        let Command::Decrypt(args) = cli.command else { panic!("wrong command: {:?}", cli.command) };
        assert_eq!((args.input, args.key_id, args.any_key), (DataPath::Standard, None, true));
        assert!(args.context.is_empty());
        let cli = Cli::try_parse_from([
            "trent",
            "decrypt",
            "--input",
            "in",
            "--output",
            "out",
            "--key-id",
            "k",
            "--context",
            "a=1",
        ])
        .unwrap();
        let Command::Decrypt(args) = cli.command else { panic!("wrong command: {:?}", cli.command) };
        assert_eq!(args.key_id.as_deref(), Some("k"));
        assert_eq!(args.context, [("a".to_owned(), "1".to_owned())]);
        assert!(Cli::try_parse_from(["trent", "decrypt", "--input", "in"]).is_err(), "--output is required");
        let keyless = ["trent", "decrypt", "--input", "in", "--output", "out"];
        assert!(Cli::try_parse_from(keyless).is_err(), "a key, or --any-key, is required");
        let both = ["trent", "decrypt", "--input", "in", "--output", "out", "--key-id", "k", "--any-key"];
        assert!(Cli::try_parse_from(both).is_err(), "--any-key contradicts --key-id");
    }
}
