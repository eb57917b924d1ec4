//! Implementations that are not ours: Python `cryptography` (with `interop.py`) wraps for
//! Trent to open and opens Trent's wraps, and the `openssl` commands of AWS's developer guide
//! wrap for Trent to open. Each is skipped, with a note, where the tool is missing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use trent_keys::import::{canonical_material, unwrap, wrap};
use trent_keys::{max_plaintext_len, KeysError, PrivateKey};
use trent_wire::model::{EncryptionAlgorithm, KeySpec, WrappingAlgorithm};

use crate::{is_oaep_only, material, oaep_of, wrapping_key, ALGORITHMS, WRAPPING_SPECS};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// The workspace's virtualenv Python (or `TRENT_PYTHON`), if it has `cryptography`.
fn python() -> Option<PathBuf> {
    let python = std::env::var_os("TRENT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"));
    let probe = Command::new(&python).args(["-c", "import cryptography.hazmat.primitives.keywrap"]).output();
    probe.is_ok_and(|output| output.status.success()).then_some(python)
}

#[test]
fn python_cryptography_wraps_open_and_trents_wraps_open_in_python() {
    let Some(python) = python() else {
        eprintln!("SKIPPED: no Python with `cryptography` (set TRENT_PYTHON or make .venv)");
        return;
    };
    // Trent's wraps for Python to open: a symmetric key under every algorithm, and an RSA key
    // (what needs RSA_AES) under both RSA_AES algorithms, under every wrapping key.
    let mut input = String::new();
    let mut ours = Vec::new();
    for wrapping_spec in WRAPPING_SPECS {
        let key = wrapping_key(wrapping_spec);
        input += &format!("key {wrapping_spec} {} {}\n", hex(&key.public_key), hex(&key.private_key));
        for algorithm in ALGORITHMS {
            let materials = if is_oaep_only(algorithm) {
                vec![material(KeySpec::SymmetricDefault)]
            } else {
                vec![material(KeySpec::SymmetricDefault), material(KeySpec::Rsa2048)]
            };
            for material in materials {
                let wrapped = wrap(algorithm, &key.public_key, &material).unwrap();
                input += &format!("blob {wrapping_spec} {algorithm} {}\n", hex(&wrapped));
                ours.push(material);
            }
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import/interop.py");
    let mut child =
        Command::new(python).arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "import_interop.py failed");

    let (mut materials, mut opened_here, mut opened_there, mut refused) = (Vec::new(), 0, 0, 0);
    // The wraps Python must have made: every accepted material under every key and algorithm,
    // but for what OAEP cannot carry.
    let mut expected_wraps = 0;
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields[0] {
            "material" => {
                let spec = KeySpec::parse(fields[1]).unwrap();
                let (form, material) = (fields[2], unhex(fields[4]));
                let context = format!("{spec} {form}");
                match canonical_material(spec, &material) {
                    Ok(canonical) => {
                        assert_eq!(fields[3], "ok", "{context}: accepted");
                        expected_wraps += WRAPPING_SPECS
                            .iter()
                            .flat_map(|&wrapping_spec| ALGORITHMS.map(|algorithm| (wrapping_spec, algorithm)))
                            .filter(|&(wrapping_spec, algorithm)| {
                                !is_oaep_only(algorithm)
                                    || material.len()
                                        <= max_plaintext_len(wrapping_spec, oaep_of(algorithm)).unwrap()
                            })
                            .count();
                        // The public key Trent derives from what it stores is cryptography's.
                        if fields[5] != "-" {
                            let key = PrivateKey::from_material(spec, &canonical).unwrap();
                            assert_eq!(hex(key.public_key_der().unwrap()), fields[5], "{context}");
                        }
                    }
                    Err(error) => {
                        assert_eq!(fields[3], "refused", "{context}: {error}");
                        assert_eq!(error, KeysError::MalformedMaterial(spec), "{context}");
                        refused += 1;
                    }
                }
                materials.push(material);
            }
            "blob" => {
                let material = &materials[fields[1].parse::<usize>().unwrap()];
                let key = wrapping_key(KeySpec::parse(fields[2]).unwrap());
                let algorithm = WrappingAlgorithm::parse(fields[3]).unwrap();
                let unwrapped = unwrap(algorithm, &key.private_key, &unhex(fields[4])).unwrap();
                assert_eq!(unwrapped.as_slice(), material.as_slice(), "{} {}", fields[2], fields[3]);
                opened_here += 1;
            }
            "opened" => {
                let index = fields[1].parse::<usize>().unwrap();
                assert_eq!(unhex(fields[2]), ours[index].as_slice(), "Trent's wrap {index} opened in Python");
                opened_there += 1;
            }
            other => panic!("unexpected line {other}"),
        }
    }
    assert_eq!(opened_there, ours.len());
    assert_eq!(opened_here, expected_wraps);
    // Refused: at least the 7 forms that need no dilithium-py (6 more with it).
    assert!(refused >= 7, "{refused}");
    eprintln!(
        "python cryptography: {} materials ({refused} refused as expected), {opened_here} of its wraps opened here, {opened_there} of Trent's opened there",
        materials.len()
    );
}

/// Runs `openssl` with `args` in `dir`, returning its standard output.
fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl").current_dir(dir).args(args).output().unwrap();
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// Whether this `openssl` has the RFC 5649 cipher AWS's recipe uses.
fn openssl_has_aes_key_wrap_with_padding() -> bool {
    Command::new("openssl").args(["enc", "-ciphers"]).output().is_ok_and(|output| {
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("-id-aes256-wrap-pad")
    })
}

/// AWS's developer guide, "Encrypt the key material": the material file under the wrapping
/// public key (DER), the way its OpenSSL example does it.
fn openssl_wrap(dir: &Path, algorithm: WrappingAlgorithm, material_file: &str) -> Vec<u8> {
    let md = if oaep_of(algorithm) == EncryptionAlgorithm::RsaesOaepSha1 { "sha1" } else { "sha256" };
    let (oaep_md, mgf1_md) = (format!("rsa_oaep_md:{md}"), format!("rsa_mgf1_md:{md}"));
    let encrypt = |input: &str, output: &str| {
        openssl(
            dir,
            &[
                "pkeyutl",
                "-encrypt",
                "-in",
                input,
                "-out",
                output,
                "-inkey",
                "PublicKey.der",
                "-keyform",
                "DER",
                "-pubin",
                "-pkeyopt",
                "rsa_padding_mode:oaep",
                "-pkeyopt",
                &oaep_md,
                "-pkeyopt",
                &mgf1_md,
            ],
        )
    };
    if is_oaep_only(algorithm) {
        encrypt(material_file, "EncryptedKeyMaterial.bin");
        return std::fs::read(dir.join("EncryptedKeyMaterial.bin")).unwrap();
    }
    openssl(dir, &["rand", "-out", "aes-key.bin", "32"]);
    let aes_key = hex(&std::fs::read(dir.join("aes-key.bin")).unwrap());
    openssl(
        dir,
        &[
            "enc",
            "-id-aes256-wrap-pad",
            "-K",
            &aes_key,
            "-iv",
            "A65959A6",
            "-in",
            material_file,
            "-out",
            "key-material-wrapped.bin",
        ],
    );
    encrypt("aes-key.bin", "aes-key-wrapped.bin");
    // `cat aes-key-wrapped.bin key-material-wrapped.bin > EncryptedKeyMaterial.bin`
    [
        std::fs::read(dir.join("aes-key-wrapped.bin")).unwrap(),
        std::fs::read(dir.join("key-material-wrapped.bin")).unwrap(),
    ]
    .concat()
}

#[test]
fn the_openssl_recipe_of_awss_guide_wraps_material_trent_opens() {
    if !openssl_has_aes_key_wrap_with_padding() {
        eprintln!("SKIPPED: this openssl has no -id-aes256-wrap-pad (OpenSSL 3 has)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The guide's test material: `openssl rand 32` and `openssl genpkey … | openssl pkcs8
    // -topk8 -outform der -nocrypt`.
    openssl(dir.path(), &["rand", "-out", "PlaintextKeyMaterial.bin", "32"]);
    let keys = [
        (
            KeySpec::EccNistP256,
            vec![
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-pkeyopt",
                "ec_param_enc:named_curve",
            ],
        ),
        (
            KeySpec::EccNistP521,
            vec![
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-521",
                "-pkeyopt",
                "ec_param_enc:named_curve",
            ],
        ),
        (KeySpec::EccNistEdwards25519, vec!["-algorithm", "ED25519"]),
        (KeySpec::Rsa2048, vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
    ];
    let mut materials = vec![(KeySpec::SymmetricDefault, "PlaintextKeyMaterial.bin".to_string())];
    for (spec, genpkey) in keys {
        let pem = openssl(dir.path(), &[&["genpkey"][..], &genpkey].concat());
        let file = format!("{spec}.der");
        let mut pkcs8 = Command::new("openssl")
            .current_dir(dir.path())
            .args(["pkcs8", "-topk8", "-outform", "der", "-nocrypt", "-out", &file])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        pkcs8.stdin.take().unwrap().write_all(&pem).unwrap();
        assert!(pkcs8.wait().unwrap().success());
        materials.push((spec, file));
    }
    let mut opened = 0;
    for wrapping_spec in [KeySpec::Rsa3072] {
        let key = wrapping_key(wrapping_spec);
        std::fs::write(dir.path().join("PublicKey.der"), &key.public_key).unwrap();
        for algorithm in ALGORITHMS {
            for (spec, file) in &materials {
                let material = std::fs::read(dir.path().join(file)).unwrap();
                if is_oaep_only(algorithm)
                    && material.len() > max_plaintext_len(wrapping_spec, oaep_of(algorithm)).unwrap()
                {
                    continue;
                }
                let wrapped = openssl_wrap(dir.path(), algorithm, file);
                let unwrapped = unwrap(algorithm, &key.private_key, &wrapped).unwrap();
                assert_eq!(unwrapped.as_slice(), material.as_slice(), "{spec} with {algorithm}");
                canonical_material(*spec, &unwrapped).unwrap();
                opened += 1;
            }
        }
    }
    // 5 materials under the two RSA_AES algorithms; under OAEP all but the RSA key.
    assert_eq!(opened, 5 * 2 + 4 * 2);
    eprintln!("openssl: {opened} wraps made by AWS's recipe opened");
}
