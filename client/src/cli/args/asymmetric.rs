//! Options of the commands on asymmetric, HMAC and post-quantum keys (`trent sign`, `verify`,
//! `get-public-key`, `generate-mac`, `verify-mac`, `derive-shared-secret`, `encapsulate`,
//! `decapsulate`, `generate-data-key-pair`). Algorithms, message types and key pair specs must be
//! one of the AWS names the wire crate knows, so `--help` lists them and a typo fails before any
//! call; none has a default, so nothing is guessed.

use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Args, Subcommand};
use trent_client::wire::model::{
    DataKeyPairSpec, EncapsulationAlgorithm, KeyAgreementAlgorithm, MacAlgorithm, MessageType,
    SigningAlgorithm,
};

use super::values::{parse_context_entry, parse_data_path, DataPath};

/// The operations on asymmetric, HMAC and post-quantum keys, named as `aws kms` names them.
#[derive(Debug, Subcommand)]
pub enum AsymmetricCommand {
    /// Get an asymmetric key's public key: DER SubjectPublicKeyInfo to `--out` (PEM with
    /// `--pem`), or PEM on stdout.
    GetPublicKey(GetPublicKeyArgs),
    /// Sign a message (or its digest, or its ML-DSA μ) with a SIGN_VERIFY key.
    Sign(SignArgs),
    /// Check a signature with a SIGN_VERIFY key: exits 0 when it is valid, and 1 with
    /// KMSInvalidSignatureException when it is not.
    Verify(VerifyArgs),
    /// Compute an HMAC of a message with a GENERATE_VERIFY_MAC key.
    GenerateMac(GenerateMacArgs),
    /// Check an HMAC: exits 0 when it matches, and 1 with KMSInvalidMacException when not.
    VerifyMac(VerifyMacArgs),
    /// ECDH between a KEY_AGREEMENT key and a peer's public key: the raw shared secret.
    DeriveSharedSecret(DeriveSharedSecretArgs),
    /// A fresh ML-KEM shared secret under an ENCAPSULATE_DECAPSULATE key, and its ciphertext.
    Encapsulate(EncapsulateArgs),
    /// The shared secret of a ciphertext from `trent encapsulate`.
    Decapsulate(DecapsulateArgs),
    /// A new key pair, its private key also encrypted under a symmetric KMS key.
    GenerateDataKeyPair(GenerateDataKeyPairArgs),
}

/// The AWS names of an enum's values, for clap to accept and list.
macro_rules! aws_names {
    ($enum:ty) => {
        PossibleValuesParser::new(<$enum>::ALL.iter().map(|value| value.as_str()))
    };
}

/// The message of a sign, verify or MAC command.
#[derive(Debug, Args)]
pub struct MessageArgs {
    /// The key: key id, key ARN, alias name or alias ARN.
    #[arg(long)]
    pub key_id: String,
    /// The message (at most 4096 bytes): a file, or `-` for stdin.
    #[arg(long, value_name = "FILE|-", default_value = "-", value_parser = parse_data_path)]
    pub message: DataPath,
}

/// Where a command's one result goes.
#[derive(Debug, Args)]
pub struct OutArgs {
    /// Write the result's raw bytes to this file (created readable by its owner only); without
    /// it the result is printed in base64 on stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `trent get-public-key` options.
#[derive(Debug, Args)]
pub struct GetPublicKeyArgs {
    /// The key: key id, key ARN, alias name or alias ARN.
    #[arg(long)]
    pub key_id: String,
    /// Write the public key to this file (DER, or PEM with `--pem`); without it, PEM on stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write PEM to `--out` instead of DER.
    #[arg(long, requires = "out")]
    pub pem: bool,
}

/// The key, message and algorithm of `trent sign` and `trent verify`.
#[derive(Debug, Args)]
pub struct SigningArgs {
    /// The key and the message.
    #[command(flatten)]
    pub message: MessageArgs,
    /// The signing algorithm (one the key offers).
    #[arg(long, value_parser = aws_names!(SigningAlgorithm))]
    pub algorithm: String,
    /// What `--message` holds: the message, its digest, or its ML-DSA μ.
    #[arg(long, value_parser = aws_names!(MessageType), default_value = "RAW")]
    pub message_type: String,
}

/// `trent sign` options.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The key, message and algorithm.
    #[command(flatten)]
    pub signing: SigningArgs,
    /// Where the signature goes.
    #[command(flatten)]
    pub out: OutArgs,
}

/// `trent verify` options.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The key, message and algorithm.
    #[command(flatten)]
    pub signing: SigningArgs,
    /// The file holding the signature's raw bytes (as `trent sign --out` writes it).
    #[arg(long, value_name = "FILE")]
    pub signature: PathBuf,
}

/// The key, message and algorithm of `trent generate-mac` and `trent verify-mac`.
#[derive(Debug, Args)]
pub struct MacArgs {
    /// The key and the message.
    #[command(flatten)]
    pub message: MessageArgs,
    /// The MAC algorithm (the key's).
    #[arg(long, value_parser = aws_names!(MacAlgorithm))]
    pub algorithm: String,
}

/// `trent generate-mac` options.
#[derive(Debug, Args)]
pub struct GenerateMacArgs {
    /// The key, message and algorithm.
    #[command(flatten)]
    pub mac: MacArgs,
    /// Where the MAC goes.
    #[command(flatten)]
    pub out: OutArgs,
}

/// `trent verify-mac` options.
#[derive(Debug, Args)]
pub struct VerifyMacArgs {
    /// The key, message and algorithm.
    #[command(flatten)]
    pub mac: MacArgs,
    /// The file holding the MAC's raw bytes (as `trent generate-mac --out` writes it).
    #[arg(long = "mac", value_name = "FILE")]
    pub mac_file: PathBuf,
}

/// `trent derive-shared-secret` options.
#[derive(Debug, Args)]
pub struct DeriveSharedSecretArgs {
    /// The KEY_AGREEMENT key: key id, key ARN, alias name or alias ARN.
    #[arg(long)]
    pub key_id: String,
    /// The key agreement algorithm.
    #[arg(long, value_parser = aws_names!(KeyAgreementAlgorithm))]
    pub algorithm: String,
    /// The peer's public key on the key's curve: SubjectPublicKeyInfo, DER or PEM.
    #[arg(long, value_name = "FILE")]
    pub public_key: PathBuf,
    /// Where the shared secret goes.
    #[command(flatten)]
    pub out: OutArgs,
}

/// `trent encapsulate` options.
#[derive(Debug, Args)]
pub struct EncapsulateArgs {
    /// The ENCAPSULATE_DECAPSULATE key: key id, key ARN, alias name or alias ARN.
    #[arg(long)]
    pub key_id: String,
    /// The encapsulation algorithm.
    #[arg(long, value_parser = aws_names!(EncapsulationAlgorithm))]
    pub algorithm: String,
    /// Write the ciphertext (what `trent decapsulate` turns back into the secret) to this file.
    #[arg(long, value_name = "FILE")]
    pub ciphertext_out: PathBuf,
    /// Where the shared secret goes.
    #[command(flatten)]
    pub out: OutArgs,
}

/// `trent decapsulate` options.
#[derive(Debug, Args)]
pub struct DecapsulateArgs {
    /// The ENCAPSULATE_DECAPSULATE key: key id, key ARN, alias name or alias ARN.
    #[arg(long)]
    pub key_id: String,
    /// The encapsulation algorithm.
    #[arg(long, value_parser = aws_names!(EncapsulationAlgorithm))]
    pub algorithm: String,
    /// The file holding the ciphertext (as `trent encapsulate --ciphertext-out` writes it).
    #[arg(long, value_name = "FILE")]
    pub ciphertext: PathBuf,
    /// Where the shared secret goes.
    #[command(flatten)]
    pub out: OutArgs,
}

/// `trent generate-data-key-pair` options.
#[derive(Debug, Args)]
pub struct GenerateDataKeyPairArgs {
    /// The symmetric key that encrypts the private key: key id, key ARN, alias name or alias ARN.
    #[arg(long)]
    pub key_id: String,
    /// The kind of key pair.
    #[arg(long, value_parser = aws_names!(DataKeyPairSpec))]
    pub key_pair_spec: String,
    /// An encryption context entry bound to the encrypted private key; repeat for more.
    #[arg(long = "context", value_name = "KEY=VALUE", value_parser = parse_context_entry)]
    pub context: Vec<(String, String)>,
    /// Ask for the encrypted private key only (GenerateDataKeyPairWithoutPlaintext).
    #[arg(long)]
    pub without_plaintext: bool,
    /// Write the private key, PKCS#8 DER, to this file (readable by its owner only).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "without_plaintext",
        conflicts_with = "without_plaintext"
    )]
    pub private_key_out: Option<PathBuf>,
    /// Write the public key, DER SubjectPublicKeyInfo, to this file.
    #[arg(long, value_name = "FILE")]
    pub public_key_out: PathBuf,
    /// Write the encrypted private key (what `aws kms decrypt` opens) to this file.
    #[arg(long, value_name = "FILE")]
    pub ciphertext_out: PathBuf,
}

#[cfg(test)]
mod tests {
    use crate::cli::args::{Cli, Command};
    use clap::Parser;

    use super::*;

    fn parse(args: &[&str]) -> Result<AsymmetricCommand, String> {
        let cli = Cli::try_parse_from([&["trent"][..], args].concat()).map_err(|error| error.to_string())?;
        match cli.command {
            Command::Asymmetric(command) => Ok(command),
            other => panic!("wrong command: {other:?}"),
        }
    }

    #[test]
    fn sign_reads_stdin_as_a_raw_message_unless_told_and_needs_an_algorithm() {
        let AsymmetricCommand::Sign(args) =
            parse(&["sign", "--key-id", "k", "--algorithm", "ECDSA_SHA_256"]).unwrap()
        else {
            panic!("not sign");
        };
        assert_eq!(
            (
                args.signing.message.key_id.as_str(),
                args.signing.message.message,
                args.signing.message_type.as_str()
            ),
            ("k", DataPath::Standard, "RAW")
        );
        assert_eq!((args.signing.algorithm.as_str(), args.out.out), ("ECDSA_SHA_256", None));
        let AsymmetricCommand::Sign(args) = parse(&[
            "sign",
            "--key-id",
            "k",
            "--algorithm",
            "ML_DSA_SHAKE_256",
            "--message-type",
            "EXTERNAL_MU",
            "--message",
            "mu.bin",
            "--out",
            "sig.bin",
        ])
        .unwrap() else {
            panic!("not sign");
        };
        assert_eq!(args.signing.message.message, DataPath::File("mu.bin".into()));
        let message_type = args.signing.message_type.as_str();
        assert_eq!((message_type, args.out.out), ("EXTERNAL_MU", Some("sig.bin".into())));

        let error = parse(&["sign", "--key-id", "k"]).unwrap_err();
        assert!(error.contains("--algorithm"), "{error}");
        let error = parse(&["sign", "--key-id", "k", "--algorithm", "ECDSA_SHA256"]).unwrap_err();
        assert!(error.contains("ECDSA_SHA_256"), "the choices are listed: {error}");
        let bad_type = ["sign", "--key-id", "k", "--algorithm", "ECDSA_SHA_256", "--message-type", "raw"];
        assert!(parse(&bad_type).is_err(), "AWS names are upper case");
    }

    #[test]
    fn verify_commands_need_the_signature_or_mac_and_an_algorithm() {
        let verify = ["verify", "--key-id", "k", "--algorithm", "ECDSA_SHA_256", "--signature", "s"];
        let AsymmetricCommand::Verify(args) = parse(&verify).unwrap() else { panic!("not verify") };
        assert_eq!(args.signature, PathBuf::from("s"));
        assert!(parse(&verify[..5]).is_err(), "--signature is required");
        assert!(parse(&["verify", "--key-id", "k", "--signature", "s"]).is_err(), "--algorithm is required");
        let verify_mac = ["verify-mac", "--key-id", "k", "--algorithm", "HMAC_SHA_256", "--mac", "m"];
        let AsymmetricCommand::VerifyMac(args) = parse(&verify_mac).unwrap() else {
            panic!("not verify-mac")
        };
        assert_eq!((args.mac.algorithm.as_str(), args.mac_file), ("HMAC_SHA_256", PathBuf::from("m")));
        assert!(parse(&["generate-mac", "--key-id", "k"]).is_err(), "--algorithm is required");
        let wrong_family = ["generate-mac", "--key-id", "k", "--algorithm", "ECDSA_SHA_256"];
        assert!(parse(&wrong_family).is_err());
    }

    #[test]
    fn get_public_key_writes_pem_only_to_a_file_it_is_given() {
        let AsymmetricCommand::GetPublicKey(args) = parse(&["get-public-key", "--key-id", "k"]).unwrap()
        else {
            panic!("not get-public-key");
        };
        assert_eq!((args.out, args.pem), (None, false));
        assert!(parse(&["get-public-key", "--key-id", "k", "--out", "p.pem", "--pem"]).is_ok());
        assert!(parse(&["get-public-key", "--key-id", "k", "--pem"]).is_err(), "stdout is PEM anyway");
    }

    #[test]
    fn key_agreement_and_kem_commands_take_their_files() {
        for args in [
            &["derive-shared-secret", "--key-id", "k", "--algorithm", "ECDH", "--public-key", "peer.pem"][..],
            &["encapsulate", "--key-id", "k", "--algorithm", "ML_KEM", "--ciphertext-out", "c"],
            &["decapsulate", "--key-id", "k", "--algorithm", "ML_KEM", "--ciphertext", "c", "--out", "s"],
        ] {
            assert!(parse(args).is_ok(), "{args:?}");
        }
        assert!(parse(&["derive-shared-secret", "--key-id", "k", "--public-key", "p"]).is_err());
        assert!(parse(&["encapsulate", "--key-id", "k", "--algorithm", "ML_KEM"]).is_err());
        assert!(parse(&["decapsulate", "--key-id", "k", "--ciphertext", "c"]).is_err());
    }

    #[test]
    fn data_key_pairs_need_a_private_key_file_exactly_when_asking_for_the_plaintext() {
        let base = [
            "generate-data-key-pair",
            "--key-id",
            "k",
            "--key-pair-spec",
            "ECC_NIST_P256",
            "--public-key-out",
            "pub.der",
            "--ciphertext-out",
            "priv.enc",
        ];
        let with = |extra: &[&str]| parse(&[&base[..], extra].concat());
        let AsymmetricCommand::GenerateDataKeyPair(args) =
            with(&["--private-key-out", "priv.der", "--context", "app=a"]).unwrap()
        else {
            panic!("not generate-data-key-pair");
        };
        assert_eq!(args.private_key_out, Some(PathBuf::from("priv.der")));
        assert_eq!(args.context, [("app".to_owned(), "a".to_owned())]);
        assert!(!args.without_plaintext);
        assert!(with(&["--without-plaintext"]).is_ok());
        assert!(with(&[]).is_err(), "the plaintext private key needs a file");
        assert!(with(&["--without-plaintext", "--private-key-out", "p"]).is_err());
        assert!(parse(&base[..7]).is_err(), "--ciphertext-out is required");
        let symmetric = [&base[..3], &["--key-pair-spec", "SYMMETRIC_DEFAULT"], &base[5..]].concat();
        assert!(parse(&[&symmetric[..], &["--without-plaintext"]].concat()).is_err(), "not a pair spec");
    }
}
