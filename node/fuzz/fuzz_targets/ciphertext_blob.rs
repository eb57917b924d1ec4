//! Fuzzes the symmetric ciphertext blob (`trent_node::kms::ciphertext`), both formats (v1 under
//! the material, v2 under a per-blob HKDF key): the header parser and the opener on untrusted bytes, and the seal/open round trip on arbitrary plaintexts and
//! encryption contexts, with a tampering step that must always be caught.
//!
//! Input layout: the first byte picks the mode by its low bit.
//!
//! * even — untrusted blob: the next byte `n` is the length of a context spec, the following
//!   `n` bytes are the spec (UTF-8, lossy; `key=value` pairs separated by `&`), and everything
//!   after it is the blob. `parse_header` and `open` (under the fixed key below) must not panic,
//!   `parse_header` must agree with the documented layout, and a blob that opens must have the
//!   length its plaintext implies and re-seal to a blob that opens to the same plaintext.
//! * odd — round trip: the rest is decoded with `arbitrary` into a format, a header, a context,
//!   a plaintext and one tampering step. `seal` then `open` must give the plaintext back,
//!   `parse_header` must give the header back, and any tampering (a flipped byte, a truncation,
//!   appended bytes, a changed context, another key) must make `open` fail.

#![no_main]

use std::collections::BTreeMap;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use trent_node::crypto::SecretKey;
use trent_node::kms::ciphertext::{
    open, parse_header, seal, BlobFormat, BlobHeader, InvalidCiphertext, FORMAT_V1, FORMAT_V2, HEADER_BYTES,
};
use trent_storage::KeyId;
use trent_wire::data_plane::EncryptionContext;

/// The key every untrusted blob is opened with (the seed corpus holds blobs sealed under it).
const FIXED_KEY: &[u8; 32] = b"trent-fuzz-fixed-key-0123456789!";
/// A second key: opening under it must always fail.
const OTHER_KEY: &[u8; 32] = b"trent-fuzz-other-key-0123456789!";

fn key(bytes: &[u8; 32]) -> SecretKey {
    SecretKey::from_slice(bytes).expect("32-byte key")
}

/// `a=1&b=2` as an encryption context; later duplicates win, a pair without `=` has an empty
/// value.
fn context_from_spec(spec: &[u8]) -> EncryptionContext {
    let text = String::from_utf8_lossy(spec);
    let mut context = EncryptionContext::new();
    if text.is_empty() {
        return context;
    }
    for pair in text.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        context.insert(k.to_owned(), v.to_owned());
    }
    context
}

/// The format the documented layout gives `blob`, if its first byte names one and it is long
/// enough for it.
fn layout_format(blob: &[u8]) -> Option<BlobFormat> {
    let format = match blob.first() {
        Some(&FORMAT_V1) => BlobFormat::V1,
        Some(&FORMAT_V2) => BlobFormat::V2,
        _ => return None,
    };
    (blob.len() >= format.min_blob_bytes()).then_some(format)
}

fn untrusted(data: &[u8]) {
    let Some((&spec_len, rest)) = data.split_first() else { return };
    let spec_len = usize::from(spec_len).min(rest.len());
    let (spec, blob) = rest.split_at(spec_len);
    let context = context_from_spec(spec);

    let header = parse_header(blob);
    let format = layout_format(blob);
    assert_eq!(header.is_ok(), format.is_some(), "parse_header disagrees with the layout");
    if let Ok(header) = header {
        assert_eq!(Some(header.format), format);
        assert_eq!(header.key_id.as_bytes(), &blob[1..17]);
        let version = u32::from_be_bytes(blob[17..HEADER_BYTES].try_into().unwrap());
        assert_eq!(header.material_version, version);
    }

    let material = key(FIXED_KEY);
    match open(&material, blob, &context) {
        Ok(plaintext) => {
            let header = header.expect("a blob that opens has a valid header");
            assert_eq!(plaintext.len(), blob.len() - header.format.min_blob_bytes());
            let resealed = seal(&material, header, &context, &plaintext).expect("seal");
            assert_eq!(&resealed[..HEADER_BYTES], &blob[..HEADER_BYTES]);
            assert_eq!(resealed.len(), blob.len());
            assert_eq!(open(&material, &resealed, &context).expect("reopen").as_slice(), plaintext.as_slice());
            // The same blob under another key, or with one more context pair, must not open.
            assert_eq!(open(&key(OTHER_KEY), blob, &context), Err(InvalidCiphertext));
            let mut wider = context.clone();
            wider.insert("\u{0}fuzz-extra".into(), String::new());
            assert_eq!(open(&material, blob, &wider), Err(InvalidCiphertext));
        }
        Err(InvalidCiphertext) => {}
    }
    // Also open with no context at all: must not panic either way.
    let _ = open(&material, blob, &EncryptionContext::new());
}

#[derive(Arbitrary, Debug)]
enum Tamper {
    Nothing,
    FlipByte { index: u16, mask: u8 },
    Truncate { length: u16 },
    Append { bytes: Vec<u8> },
    AddPair { key: String, value: String },
    ChangeValue { index: u8, value: String },
    DropPair { index: u8 },
    OtherKey,
}

#[derive(Arbitrary, Debug)]
struct RoundTrip {
    v2: bool,
    key_id: [u8; 16],
    material_version: u32,
    context: BTreeMap<String, String>,
    plaintext: Vec<u8>,
    tamper: Tamper,
}

fn round_trip(data: &[u8]) {
    let Ok(input) = RoundTrip::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let material = key(FIXED_KEY);
    let format = if input.v2 { BlobFormat::V2 } else { BlobFormat::V1 };
    let header = BlobHeader {
        format,
        key_id: KeyId(uuid::Uuid::from_bytes(input.key_id)),
        material_version: input.material_version,
    };
    let context: EncryptionContext = input.context;
    let plaintext = input.plaintext;

    let blob = seal(&material, header, &context, &plaintext).expect("seal");
    assert_eq!(blob.len(), format.min_blob_bytes() + plaintext.len());
    assert_eq!(blob[0], if input.v2 { FORMAT_V2 } else { FORMAT_V1 });
    assert_eq!(parse_header(&blob), Ok(header));
    assert_eq!(open(&material, &blob, &context).expect("open what was sealed").as_slice(), plaintext.as_slice());
    // Every seal draws a fresh nonce (and, in v2, a fresh salt).
    let again = seal(&material, header, &context, &plaintext).expect("seal");
    let nonce = format.header_bytes()..format.header_bytes() + 12;
    assert_ne!(again[nonce.clone()], blob[nonce], "nonce reused");
    if input.v2 {
        assert_ne!(again[HEADER_BYTES..HEADER_BYTES + 16], blob[HEADER_BYTES..HEADER_BYTES + 16], "salt reused");
    }

    let mut forged = blob.clone();
    let mut forged_context = context.clone();
    let mut opener = material.clone();
    match input.tamper {
        Tamper::Nothing => {}
        Tamper::FlipByte { index, mask } => {
            let index = usize::from(index) % forged.len();
            forged[index] ^= if mask == 0 { 0x01 } else { mask };
        }
        Tamper::Truncate { length } => forged.truncate(usize::from(length) % blob.len()),
        Tamper::Append { bytes } => forged.extend_from_slice(&bytes),
        Tamper::AddPair { key, value } => {
            forged_context.insert(key, value);
        }
        Tamper::ChangeValue { index, value } => {
            if !forged_context.is_empty() {
                let index = usize::from(index) % forged_context.len();
                let name = forged_context.keys().nth(index).cloned().unwrap();
                forged_context.insert(name, value);
            }
        }
        Tamper::DropPair { index } => {
            if !forged_context.is_empty() {
                let index = usize::from(index) % forged_context.len();
                let name = forged_context.keys().nth(index).cloned().unwrap();
                forged_context.remove(&name);
            }
        }
        Tamper::OtherKey => opener = key(OTHER_KEY),
    }
    let untouched = forged == blob && forged_context == context && opener == material;
    let opened = open(&opener, &forged, &forged_context);
    if untouched {
        assert_eq!(opened.expect("untouched blob opens").as_slice(), plaintext.as_slice());
    } else {
        assert_eq!(opened, Err(InvalidCiphertext), "a tampered blob or context opened");
    }
    // A tampered blob's header still parses exactly when the layout says so.
    assert_eq!(parse_header(&forged).is_ok(), layout_format(&forged).is_some());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        untrusted(rest);
    } else {
        round_trip(rest);
    }
});
