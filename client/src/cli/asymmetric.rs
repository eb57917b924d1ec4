//! `trent sign`, `verify`, `get-public-key`, `generate-mac`, `verify-mac`,
//! `derive-shared-secret`, `encapsulate`, `decapsulate` and `generate-data-key-pair`: read the
//! message, signature, MAC, ciphertext or peer key from a file (bounded), make one call, and
//! write each binary result to its file (complete or not at all, readable by its owner only) or
//! in base64 on stdout. A refused call is the AWS error on stderr and exit status 1, so
//! `trent verify` fails on an invalid signature with `KMSInvalidSignatureException`.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::SubjectPublicKeyInfoDer;
use serde::Serialize;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use trent_client::wire::asymmetric::{
    DecapsulateRequest, DeriveSharedSecretRequest, EncapsulateRequest, GenerateDataKeyPairRequest,
    GenerateMacRequest, GetPublicKeyRequest, SignRequest, VerifyMacRequest, VerifyRequest,
};
use trent_client::wire::limits::MAX_PLAINTEXT_BYTES;
use trent_client::wire::Blob;
use trent_client::TrentClient;

use super::args::{
    AsymmetricCommand, DataPath, GenerateDataKeyPairArgs, GetPublicKeyArgs, MacArgs, MessageArgs, OutArgs,
    SigningArgs,
};
use super::envelope::{context_from_entries, Output};
use super::{eprint_line, print_line, show};

/// Largest signature, MAC, ciphertext or peer public key file read: above the largest any key
/// spec makes (an ML-DSA-87 signature is 4627 bytes, an ML-KEM-1024 ciphertext 1568, a P-521
/// public key in PEM under 300), so the server, not the CLI, says what is too long for the key.
const MAX_INPUT_FILE_BYTES: u64 = 64 * 1024;

/// Runs one of the commands on asymmetric, HMAC and post-quantum keys.
pub async fn run(client: &TrentClient, json: bool, command: AsymmetricCommand) -> anyhow::Result<()> {
    match command {
        AsymmetricCommand::GetPublicKey(args) => get_public_key(client, json, args).await,
        AsymmetricCommand::Sign(args) => {
            let signed = client.sign(&sign_request(args.signing)?).await?;
            let signature = Part::new("Signature", "signature", &signed.signature, args.out.out.as_deref());
            deliver(json, &signed, &[signature]).await
        }
        AsymmetricCommand::Verify(args) => {
            let signature = read_file(&args.signature, "signature")?;
            let SignRequest { key_id, message, message_type, signing_algorithm, .. } =
                sign_request(args.signing)?;
            let request = VerifyRequest {
                key_id,
                message,
                message_type,
                signature,
                signing_algorithm,
                ..VerifyRequest::default()
            };
            let verified = client.verify(&request).await?;
            show(json, &verified, || {
                format!("signature valid ({}, key {})", verified.signing_algorithm, verified.key_id)
            })
        }
        AsymmetricCommand::GenerateMac(args) => {
            let made = client.generate_mac(&mac_request(args.mac)?).await?;
            deliver(json, &made, &[Part::new("Mac", "MAC", &made.mac, args.out.out.as_deref())]).await
        }
        AsymmetricCommand::VerifyMac(args) => {
            let mac = read_file(&args.mac_file, "MAC")?;
            let GenerateMacRequest { key_id, message, mac_algorithm, .. } = mac_request(args.mac)?;
            let request =
                VerifyMacRequest { key_id, message, mac_algorithm, mac, ..VerifyMacRequest::default() };
            let verified = client.verify_mac(&request).await?;
            show(json, &verified, || {
                format!("MAC valid ({}, key {})", verified.mac_algorithm, verified.key_id)
            })
        }
        AsymmetricCommand::DeriveSharedSecret(args) => {
            let request = DeriveSharedSecretRequest {
                public_key: read_public_key(&args.public_key)?,
                key_id: args.key_id,
                key_agreement_algorithm: args.algorithm,
                ..DeriveSharedSecretRequest::default()
            };
            let derived = client.derive_shared_secret(&request).await?;
            deliver(json, &derived, &[Part::shared_secret(&derived.shared_secret, &args.out)]).await
        }
        AsymmetricCommand::Encapsulate(args) => {
            let request = EncapsulateRequest {
                key_id: args.key_id,
                encapsulation_algorithm: args.algorithm,
                ..EncapsulateRequest::default()
            };
            let made = client.encapsulate(&request).await?;
            let ciphertext = &made.shared_secret_ciphertext_blob;
            let parts = [
                Part::new("SharedSecretCiphertextBlob", "ciphertext", ciphertext, Some(&args.ciphertext_out)),
                Part::shared_secret(&made.shared_secret, &args.out),
            ];
            deliver(json, &made, &parts).await
        }
        AsymmetricCommand::Decapsulate(args) => {
            let request = DecapsulateRequest {
                shared_secret_ciphertext_blob: read_file(&args.ciphertext, "ciphertext")?,
                key_id: args.key_id,
                encapsulation_algorithm: args.algorithm,
                ..DecapsulateRequest::default()
            };
            let opened = client.decapsulate(&request).await?;
            deliver(json, &opened, &[Part::shared_secret(&opened.shared_secret, &args.out)]).await
        }
        AsymmetricCommand::GenerateDataKeyPair(args) => generate_data_key_pair(client, json, args).await,
    }
}

/// The Sign request `args` describe; Verify sends the same fields and the signature.
fn sign_request(args: SigningArgs) -> anyhow::Result<SignRequest> {
    Ok(SignRequest {
        message: read_message(&args.message)?,
        key_id: args.message.key_id,
        message_type: Some(args.message_type),
        signing_algorithm: args.algorithm,
        ..SignRequest::default()
    })
}

/// The GenerateMac request `args` describe; VerifyMac sends the same fields and the MAC.
fn mac_request(args: MacArgs) -> anyhow::Result<GenerateMacRequest> {
    Ok(GenerateMacRequest {
        message: read_message(&args.message)?,
        key_id: args.message.key_id,
        mac_algorithm: args.algorithm,
        ..GenerateMacRequest::default()
    })
}

/// `trent get-public-key`: PEM on stdout, or DER (PEM with `--pem`) to `--out`.
async fn get_public_key(client: &TrentClient, json: bool, args: GetPublicKeyArgs) -> anyhow::Result<()> {
    let answer =
        client.get_public_key(&GetPublicKeyRequest { key_id: args.key_id, grant_tokens: None }).await?;
    let public_key_pem = pem("PUBLIC KEY", &answer.public_key)?;
    let Some(path) = &args.out else {
        return show(json, &answer, || public_key_pem);
    };
    let pem_file = Blob::from(format!("{public_key_pem}\n").into_bytes());
    let written = if args.pem { &pem_file } else { &answer.public_key };
    deliver(json, &answer, &[Part::new("PublicKey", "public key", written, Some(path))]).await
}

/// `trent generate-data-key-pair`: every part of the pair goes to its file.
async fn generate_data_key_pair(
    client: &TrentClient,
    json: bool,
    args: GenerateDataKeyPairArgs,
) -> anyhow::Result<()> {
    let context = context_from_entries(args.context)?;
    let request = GenerateDataKeyPairRequest {
        key_id: args.key_id,
        key_pair_spec: args.key_pair_spec,
        encryption_context: (!context.is_empty()).then_some(context),
        ..GenerateDataKeyPairRequest::default()
    };
    let pair = if args.without_plaintext {
        client.generate_data_key_pair_without_plaintext(&request).await?
    } else {
        client.generate_data_key_pair(&request).await?
    };
    let mut parts = vec![
        Part::new("PublicKey", "public key", &pair.public_key, Some(&args.public_key_out)),
        Part::new(
            "PrivateKeyCiphertextBlob",
            "encrypted private key",
            &pair.private_key_ciphertext_blob,
            Some(&args.ciphertext_out),
        ),
    ];
    match (&pair.private_key_plaintext, &args.private_key_out) {
        (Some(private_key), Some(path)) => {
            parts.insert(0, Part::new("PrivateKeyPlaintext", "private key", private_key, Some(path)));
        }
        (None, None) => {}
        (Some(_), None) => bail!("the server sent a plaintext private key that was not asked for"),
        (None, Some(_)) => bail!("the server sent no plaintext private key"),
    }
    deliver(json, &pair, &parts).await
}

/// One binary field of a response and where it goes: a file, or stdout in base64.
struct Part<'a> {
    /// The field's name in the response; left out of `--json` output once written to a file.
    field: &'static str,
    /// What it is, for the text report.
    what: &'static str,
    bytes: &'a Blob,
    file: Option<&'a Path>,
}

impl<'a> Part<'a> {
    fn new(field: &'static str, what: &'static str, bytes: &'a Blob, file: Option<&'a Path>) -> Part<'a> {
        Part { field, what, bytes, file }
    }

    /// The shared secret of DeriveSharedSecret, Encapsulate or Decapsulate, to `--out` or stdout.
    fn shared_secret(bytes: &'a Blob, out: &'a OutArgs) -> Part<'a> {
        Part::new("SharedSecret", "shared secret", bytes, out.out.as_deref())
    }
}

/// Writes the parts that have a file (each complete or not at all; none is committed unless all
/// were written), then prints their [`Report`].
async fn deliver(json: bool, response: &impl Serialize, parts: &[Part<'_>]) -> anyhow::Result<()> {
    let mut outputs = Vec::new();
    for part in parts {
        if let Some(path) = part.file {
            let mut output = Output::create(&DataPath::File(path.to_owned())).await?;
            output
                .writer()
                .write_all(part.bytes.as_bytes())
                .await
                .with_context(|| format!("cannot write the {} to {}", part.what, path.display()))?;
            outputs.push(output);
        }
    }
    for output in outputs {
        output.commit().await?;
    }
    let report = Report::of(json, response, parts)?;
    for line in &report.stderr {
        eprint_line(line)?;
    }
    print_line(&report.stdout)
}

/// What a command whose results went to files or stdout prints.
#[derive(Debug)]
struct Report {
    /// With `--json` the response without the parts written to files; else the one part without
    /// a file in base64, or when there is none a line per file written.
    stdout: String,
    /// A line per file written, when stdout carries a result in base64.
    stderr: Vec<String>,
}

impl Report {
    fn of(json: bool, response: &impl Serialize, parts: &[Part<'_>]) -> anyhow::Result<Report> {
        if json {
            let mut shown = serde_json::to_value(response)?;
            if let Some(fields) = shown.as_object_mut() {
                for part in parts.iter().filter(|part| part.file.is_some()) {
                    fields.remove(part.field);
                }
            }
            return Ok(Report { stdout: serde_json::to_string_pretty(&shown)?, stderr: Vec::new() });
        }
        let written: Vec<String> = parts
            .iter()
            .filter_map(|part| {
                let path = part.file?;
                Some(format!("wrote the {} ({} bytes) to {}", part.what, part.bytes.len(), path.display()))
            })
            .collect();
        Ok(match parts.iter().find(|part| part.file.is_none()) {
            Some(part) => Report { stdout: base64(part.bytes)?, stderr: written },
            None => Report { stdout: written.join("\n"), stderr: Vec::new() },
        })
    }
}

/// A blob in standard base64, as it crosses the wire.
fn base64(blob: &Blob) -> anyhow::Result<String> {
    match serde_json::to_value(blob)? {
        Value::String(text) => Ok(text),
        other => bail!("a blob serialised as {other}, not a base64 string"),
    }
}

/// DER bytes as a PEM block with `label`, lines of 64 characters, without a final newline.
fn pem(label: &str, der: &Blob) -> anyhow::Result<String> {
    let body = base64(der)?;
    // Base64 is ASCII, so a split at any byte leaves whole characters.
    let lines = body.as_bytes().chunks(64).map(std::str::from_utf8).collect::<Result<Vec<&str>, _>>()?;
    Ok(format!("-----BEGIN {label}-----\n{}\n-----END {label}-----", lines.join("\n")))
}

/// The message of a sign, verify or MAC command, from its file or stdin: at most
/// [`MAX_PLAINTEXT_BYTES`], the most KMS signs or MACs.
fn read_message(args: &MessageArgs) -> anyhow::Result<Blob> {
    let (bytes, source) = match &args.message {
        DataPath::Standard => {
            (read_capped(std::io::stdin().lock(), MAX_PLAINTEXT_BYTES as u64), "stdin".to_owned())
        }
        DataPath::File(path) => {
            (read_capped(open(path)?, MAX_PLAINTEXT_BYTES as u64), path.display().to_string())
        }
    };
    match bytes.with_context(|| format!("cannot read the message from {source}"))? {
        Some(bytes) => Ok(Blob::from(bytes)),
        None => bail!(
            "the message in {source} is over {MAX_PLAINTEXT_BYTES} bytes, the most KMS signs or MACs: \
             sign its digest instead (--message-type DIGEST)"
        ),
    }
}

/// A signature, MAC or ciphertext: the raw bytes of a file of at most [`MAX_INPUT_FILE_BYTES`].
fn read_file(path: &Path, what: &str) -> anyhow::Result<Blob> {
    let bytes = read_capped(open(path)?, MAX_INPUT_FILE_BYTES)
        .with_context(|| format!("cannot read the {what} from {}", path.display()))?;
    match bytes {
        Some(bytes) => Ok(Blob::from(bytes)),
        None => bail!("{} is over {MAX_INPUT_FILE_BYTES} bytes: not a {what}", path.display()),
    }
}

/// A peer's public key, DER SubjectPublicKeyInfo, from a DER file or a PEM `PUBLIC KEY` block.
fn read_public_key(path: &Path) -> anyhow::Result<Blob> {
    let contents = read_file(path, "public key")?;
    if !contents.as_bytes().trim_ascii_start().starts_with(b"-----BEGIN") {
        return Ok(contents);
    }
    let der = SubjectPublicKeyInfoDer::from_pem_slice(contents.as_bytes())
        .with_context(|| format!("{} holds no PEM PUBLIC KEY block", path.display()))?;
    Ok(Blob::from(der.as_ref().to_vec()))
}

fn open(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

/// Reads all of `reader` if it holds at most `limit` bytes; `None` if it holds more.
fn read_capped(reader: impl Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_wraps_base64_at_64_characters() {
        let der = Blob::from((0u8..100).collect::<Vec<u8>>());
        let text = pem("PUBLIC KEY", &der).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.first(), Some(&"-----BEGIN PUBLIC KEY-----"));
        assert_eq!(lines.last(), Some(&"-----END PUBLIC KEY-----"));
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.len(), 5, "136 base64 characters make three lines: {text}");
        assert_eq!(base64(&Blob::from(b"hello".to_vec())).unwrap(), "aGVsbG8=");
    }

    #[test]
    fn peer_public_keys_are_read_as_der_or_pem() {
        let dir = tempfile::tempdir().unwrap();
        let der = Blob::from(vec![0x30, 0x03, 0x02, 0x01, 0x07]);
        let der_path = dir.path().join("peer.der");
        std::fs::write(&der_path, der.as_bytes()).unwrap();
        assert_eq!(read_public_key(&der_path).unwrap(), der);
        let pem_path = dir.path().join("peer.pem");
        std::fs::write(&pem_path, format!("\n{}\n", pem("PUBLIC KEY", &der).unwrap())).unwrap();
        assert_eq!(read_public_key(&pem_path).unwrap(), der);
        std::fs::write(&pem_path, pem("CERTIFICATE", &der).unwrap()).unwrap();
        let error = read_public_key(&pem_path).unwrap_err().to_string();
        assert!(error.contains("no PEM PUBLIC KEY"), "{error}");
    }

    #[test]
    fn inputs_over_their_limit_are_refused() {
        assert_eq!(read_capped(&b"abc"[..], 3).unwrap(), Some(b"abc".to_vec()));
        assert_eq!(read_capped(&b"abcd"[..], 3).unwrap(), None);
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("message");
        std::fs::write(&big, vec![7u8; MAX_PLAINTEXT_BYTES + 1]).unwrap();
        let args = MessageArgs { key_id: "k".into(), message: DataPath::File(big.clone()) };
        let error = read_message(&args).unwrap_err().to_string();
        assert!(error.contains("--message-type DIGEST"), "{error}");
        std::fs::write(&big, vec![7u8; MAX_PLAINTEXT_BYTES]).unwrap();
        assert_eq!(read_message(&args).unwrap().len(), MAX_PLAINTEXT_BYTES);
        let missing = read_file(&dir.path().join("none"), "signature").unwrap_err().to_string();
        assert!(missing.starts_with("cannot open"), "{missing}");
    }

    #[tokio::test]
    async fn parts_go_to_their_files_and_leave_the_json_without_them() {
        let dir = tempfile::tempdir().unwrap();
        let (secret, ciphertext) = (Blob::from(vec![1, 2, 3]), Blob::from(vec![9; 10]));
        let (secret_path, ciphertext_path) = (dir.path().join("secret"), dir.path().join("ct"));
        let response =
            serde_json::json!({ "KeyId": "k", "SharedSecret": "AQID", "SharedSecretCiphertextBlob": "CQ==" });
        let to_files = [
            Part::new("SharedSecretCiphertextBlob", "ciphertext", &ciphertext, Some(&ciphertext_path)),
            Part::new("SharedSecret", "shared secret", &secret, Some(&secret_path)),
        ];
        deliver(false, &response, &to_files).await.unwrap();
        assert_eq!(std::fs::read(&secret_path).unwrap(), [1, 2, 3]);
        assert_eq!(std::fs::read(&ciphertext_path).unwrap(), [9; 10]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&secret_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "a secret file is its owner's only: {mode:o}");
        }

        let shown = Report::of(true, &response, &to_files).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&shown.stdout).unwrap(),
            serde_json::json!({ "KeyId": "k" })
        );
        let text = Report::of(false, &response, &to_files).unwrap();
        assert_eq!(text.stdout.lines().count(), 2, "a line per file: {}", text.stdout);
        assert!(text.stdout.contains("wrote the shared secret (3 bytes) to"), "{}", text.stdout);
        assert!(text.stderr.is_empty());

        let secret_on_stdout = [
            Part::new("SharedSecretCiphertextBlob", "ciphertext", &ciphertext, Some(&ciphertext_path)),
            Part::new("SharedSecret", "shared secret", &secret, None),
        ];
        let shown = Report::of(true, &response, &secret_on_stdout).unwrap();
        let expected = serde_json::json!({ "KeyId": "k", "SharedSecret": "AQID" });
        assert_eq!(serde_json::from_str::<Value>(&shown.stdout).unwrap(), expected);
        let text = Report::of(false, &response, &secret_on_stdout).unwrap();
        assert_eq!(text.stdout, "AQID", "stdout carries only the result");
        assert_eq!(text.stderr.len(), 1, "the file written is reported on stderr");
    }
}
