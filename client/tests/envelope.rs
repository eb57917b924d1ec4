//! Envelope encryption through `TrentClient` and through the `trent encrypt`/`trent decrypt`
//! binary, against a fake KMS node: the requests it sends, the checks it makes before asking for
//! the data key, and the CLI's files (complete or absent, never partial) and streams.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

#[allow(dead_code)] // each test binary uses part of the fake node
mod support;

use std::path::Path;
use std::process::Output;

use serde_json::{json, Value};
use support::{FakeNode, Reply, Seen};
use tokio::io::AsyncWriteExt;
use trent_client::envelope::{self, ChunkSize, DecryptOptions, EnvelopeError, EnvelopeOptions};
use trent_client::wire::data_plane::EncryptionContext;
use trent_client::wire::{Blob, ErrorCode};
use trent_client::{ClientError, TrentClient};

const ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/0f6b7a43-5b0c-4d1f-9d51-0c8a3e1f2b9a";
const WRAPPED: &[u8] = b"data key wrapped by the fake KMS";

fn blob(bytes: &[u8]) -> Value {
    serde_json::to_value(Blob(bytes.to_vec())).unwrap()
}

/// A KMS that mints one fixed data key, and unwraps it only with the context `purpose=test`
/// and for the key names `alias/right` or its ARN (or none).
fn fake_kms(seen: &Seen) -> Reply {
    let data_key = blob(&[0x11; 32]);
    match seen.target.as_deref() {
        Some("TrentService.GenerateDataKey") => {
            Reply::ok(json!({"CiphertextBlob": blob(WRAPPED), "Plaintext": data_key, "KeyId": ARN}))
        }
        Some("TrentService.Decrypt") => {
            if seen.body["KeyId"].as_str().is_some_and(|key| key != "alias/right" && key != ARN) {
                return Reply::error(400, "IncorrectKeyException", "another key encrypted this");
            }
            if seen.body["CiphertextBlob"] != blob(WRAPPED)
                || seen.body["EncryptionContext"] != json!({"purpose": "test"})
            {
                return Reply::error(400, "InvalidCiphertextException", "");
            }
            Reply::ok(
                json!({"Plaintext": data_key, "KeyId": ARN, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            )
        }
        other => Reply::error(400, "UnsupportedOperationException", &format!("{other:?}")),
    }
}

fn context() -> EncryptionContext {
    EncryptionContext::from([("purpose".to_owned(), "test".to_owned())])
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

#[tokio::test]
async fn encrypt_asks_for_one_aes_256_data_key_and_decrypt_unwraps_it() {
    let node = FakeNode::start(fake_kms).await;
    let client = TrentClient::single(&node.url()).unwrap();
    let data = plaintext(10_000);
    let options = EnvelopeOptions { chunk_size: ChunkSize::MIN };
    let mut sealed = Vec::new();
    let summary = envelope::encrypt(&client, "alias/right", &context(), &options, &data[..], &mut sealed)
        .await
        .unwrap();
    assert_eq!((summary.key_id.as_str(), summary.chunks, summary.bytes_in), (ARN, 3, 10_000));
    assert_eq!(summary.bytes_out, sealed.len() as u64);

    let options = DecryptOptions { key_id: Some("alias/right".into()), required_context: context() };
    let mut opened = Vec::new();
    let summary = envelope::decrypt(&client, &options, &sealed[..], &mut opened).await.unwrap();
    assert_eq!(opened, data);
    assert_eq!((summary.encryption_context, summary.bytes_out), (context(), 10_000));

    let seen = node.seen();
    assert_eq!(seen.len(), 2, "one GenerateDataKey, one Decrypt, whatever the size");
    assert_eq!(
        seen[0].body,
        json!({"KeyId": "alias/right", "KeySpec": "AES_256", "EncryptionContext": {"purpose": "test"}})
    );
    assert_eq!(seen[1].body["KeyId"], "alias/right");
}

#[tokio::test]
async fn decrypt_refuses_the_wrong_key_and_a_missing_context_entry() {
    let node = FakeNode::start(fake_kms).await;
    let client = TrentClient::single(&node.url()).unwrap();
    let mut sealed = Vec::new();
    envelope::encrypt(
        &client,
        "alias/right",
        &context(),
        &EnvelopeOptions::default(),
        &b"x"[..],
        &mut sealed,
    )
    .await
    .unwrap();

    let wrong_key = DecryptOptions { key_id: Some("alias/wrong".into()), ..DecryptOptions::default() };
    let mut output = Vec::new();
    let error = envelope::decrypt(&client, &wrong_key, &sealed[..], &mut output).await.unwrap_err();
    let EnvelopeError::Kms { operation: "Decrypt", source } = &error else { panic!("{error:?}") };
    assert_eq!(source.code(), Some(ErrorCode::IncorrectKey));
    assert!(output.is_empty());

    let calls_before = node.seen().len();
    let required = EncryptionContext::from([("tenant".to_owned(), "a".to_owned())]);
    let missing = DecryptOptions { key_id: None, required_context: required };
    let error = envelope::decrypt(&client, &missing, &sealed[..], &mut output).await.unwrap_err();
    assert!(matches!(error, EnvelopeError::ContextMismatch { ref key } if key == "tenant"), "{error:?}");
    assert_eq!(node.seen().len(), calls_before, "refused before asking KMS");
}

#[tokio::test]
async fn kms_failure_on_encrypt_is_a_typed_error() {
    let node = FakeNode::start(|_| Reply::error(400, "DisabledException", "key is disabled")).await;
    let client = TrentClient::single(&node.url()).unwrap();
    let error =
        envelope::encrypt(&client, "k", &context(), &EnvelopeOptions::default(), &b"x"[..], Vec::new())
            .await
            .unwrap_err();
    assert!(matches!(
        error,
        EnvelopeError::Kms { operation: "GenerateDataKey", source: ClientError::Api(ref e) } if e.code == ErrorCode::Disabled
    ));
}

/// Runs the `trent` binary against `node` with `args`, feeding `stdin`.
async fn trent(node: &FakeNode, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_trent"))
        .arg("--endpoints")
        .arg(node.url())
        .args(args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("TRENT_ENDPOINTS")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).await.unwrap();
    drop(input);
    child.wait_with_output().await.unwrap()
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn files_in(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn cli_round_trips_files_and_leaves_no_output_when_decryption_fails() {
    let node = FakeNode::start(fake_kms).await;
    let directory = tempfile::tempdir().unwrap();
    let (plain, sealed, opened) =
        (directory.path().join("plain"), directory.path().join("sealed"), directory.path().join("opened"));
    let data = plaintext(300 * 1024 + 5);
    std::fs::write(&plain, &data).unwrap();

    let args = [
        "--json",
        "encrypt",
        "--key-id",
        "alias/right",
        "--context",
        "purpose=test",
        "--chunk-size",
        "4KiB",
        "--input",
        path(&plain),
        "--output",
        path(&sealed),
    ];
    let encrypted = trent(&node, &args, b"").await;
    assert!(encrypted.status.success(), "{}", String::from_utf8_lossy(&encrypted.stderr));
    let summary: Value = serde_json::from_slice(&encrypted.stdout).unwrap();
    assert_eq!(summary["key_id"], ARN);
    assert_eq!(summary["chunks"], 76);
    assert_eq!(summary["bytes_in"], data.len());
    assert_eq!(summary["bytes_out"], std::fs::metadata(&sealed).unwrap().len());

    let args = [
        "decrypt",
        "--any-key",
        "--context",
        "purpose=test",
        "--input",
        path(&sealed),
        "--output",
        path(&opened),
    ];
    let decrypted = trent(&node, &args, b"").await;
    assert!(decrypted.status.success(), "{}", String::from_utf8_lossy(&decrypted.stderr));
    assert!(String::from_utf8_lossy(&decrypted.stdout).starts_with("decrypted "));
    assert!(std::fs::read(&opened).unwrap() == data);
    std::fs::remove_file(&opened).unwrap();

    // The last chunk's tag altered: chunks before it verify, but the file must not appear.
    let mut tampered = std::fs::read(&sealed).unwrap();
    *tampered.last_mut().unwrap() ^= 1;
    std::fs::write(&sealed, &tampered).unwrap();
    let refused = trent(&node, &args, b"").await;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("chunk 75 failed authentication"), "{stderr}");
    assert_eq!(files_in(directory.path()), ["plain", "sealed"], "no output and no temporary file");
}

#[tokio::test]
async fn cli_streams_stdin_to_stdout_with_the_report_on_stderr() {
    let node = FakeNode::start(fake_kms).await;
    let data = plaintext(70_000);
    let args =
        ["encrypt", "--key-id", "alias/right", "--context", "purpose=test", "--input", "-", "--output", "-"];
    let encrypted = trent(&node, &args, &data).await;
    assert!(encrypted.status.success(), "{}", String::from_utf8_lossy(&encrypted.stderr));
    assert!(encrypted.stdout.starts_with(b"TRNTENV\0"), "stdout carries the envelope only");
    assert!(String::from_utf8_lossy(&encrypted.stderr).starts_with("encrypted 70000 bytes"));

    let args = ["--json", "decrypt", "--key-id", ARN, "--input", "-", "--output", "-"];
    let decrypted = trent(&node, &args, &encrypted.stdout).await;
    assert!(decrypted.status.success(), "{}", String::from_utf8_lossy(&decrypted.stderr));
    assert!(decrypted.stdout == data);
    let summary: Value = serde_json::from_slice(&decrypted.stderr).unwrap();
    assert_eq!(summary["encryption_context"], json!({"purpose": "test"}));

    let not_an_envelope = trent(&node, &args, b"just some text").await;
    assert!(!not_an_envelope.status.success());
    assert!(String::from_utf8_lossy(&not_an_envelope.stderr).contains("not a Trent envelope"));
    assert!(not_an_envelope.stdout.is_empty());
}
