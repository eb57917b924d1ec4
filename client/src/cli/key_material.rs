//! `trent keys rotation|rotate|rotations|import|delete-imported-material`: one call each, but
//! `import`, which reads the material (bounded, into zeroized buffers only) and runs the
//! library's import exchange. The material is never printed, logged or put in an error.

use std::io::Read;

use anyhow::{bail, Context};
use trent_client::import::{Expiration, MaterialImport, MAX_MATERIAL_FILE_BYTES};
use trent_client::wire::import::DeleteImportedKeyMaterialRequest;
use trent_client::wire::kms::KeyIdRequest;
use trent_client::wire::model::IncludeKeyMaterial;
use trent_client::wire::rotation::{EnableKeyRotationRequest, ListKeyRotationsResponse};
use trent_client::TrentClient;
use zeroize::Zeroizing;

use super::args::{DataPath, ImportArgs, KeyMaterialCommand, RotationCommand};
use super::{render, show};

/// Runs one of the key-material commands.
pub async fn run(client: &TrentClient, json: bool, command: KeyMaterialCommand) -> anyhow::Result<()> {
    match command {
        KeyMaterialCommand::Rotation(RotationCommand::Enable(args)) => {
            let request =
                EnableKeyRotationRequest { key_id: args.key_id.clone(), rotation_period_in_days: args.days };
            let done = client.enable_key_rotation(&request).await?;
            show(json, &done, || match args.days {
                Some(days) => format!("{} rotates automatically every {days} days", args.key_id),
                None => format!("{} rotates automatically (the server's default period)", args.key_id),
            })
        }
        KeyMaterialCommand::Rotation(RotationCommand::Disable(args)) => {
            let done = client.disable_key_rotation(&key_id(&args.key_id)).await?;
            show(json, &done, || format!("{} no longer rotates automatically", args.key_id))
        }
        KeyMaterialCommand::Rotation(RotationCommand::Status(args)) => {
            let status = client.get_key_rotation_status(&key_id(&args.key_id)).await?;
            show(json, &status, || render::rotation_status(&status))
        }
        KeyMaterialCommand::Rotate(args) => {
            let rotated = client.rotate_key_on_demand(&key_id(&args.key_id)).await?;
            show(json, &rotated, || format!("rotated {}", rotated.key_id))
        }
        KeyMaterialCommand::Rotations(args) => {
            let include = args.include_key_material.then_some(IncludeKeyMaterial::AllKeyMaterial);
            let rotations = client.list_all_key_rotations(&args.key_id, include).await?;
            let all = ListKeyRotationsResponse { rotations, next_marker: None, truncated: false };
            show(json, &all, || render::rotation_list(&all.rotations))
        }
        KeyMaterialCommand::Import(args) => {
            let contents = read_material(&args.material)?;
            let imported = client.import_material(&material_import(args), contents).await?;
            show(json, &imported, || render::key_material(&imported))
        }
        KeyMaterialCommand::DeleteImportedMaterial(args) => {
            let request = DeleteImportedKeyMaterialRequest {
                key_id: args.key_id,
                key_material_id: args.key_material_id,
            };
            let deleted = client.delete_imported_key_material(&request).await?;
            show(json, &deleted, || {
                format!(
                    "deleted material {} of {}; the key waits for an import",
                    deleted.key_material_id, deleted.key_id
                )
            })
        }
    }
}

fn key_id(key: &str) -> KeyIdRequest {
    KeyIdRequest { key_id: key.to_owned(), grant_tokens: None }
}

/// What `trent keys import` asks of the library, besides the material.
fn material_import(args: ImportArgs) -> MaterialImport {
    MaterialImport {
        key_id: args.key_id,
        wrapping_algorithm: args.wrapping_algorithm,
        wrapping_key_spec: args.wrapping_key_spec,
        // clap requires exactly one of the two.
        expiration: match args.valid_to {
            Some(when) => Expiration::At(when),
            None => Expiration::Never,
        },
        import_type: args.import_type,
        key_material_id: args.key_material_id,
        description: args.description,
    }
}

/// The material file's contents, or stdin's, at most [`MAX_MATERIAL_FILE_BYTES`].
fn read_material(path: &DataPath) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let (contents, source) = match path {
        DataPath::Standard => {
            (read_secret_capped(std::io::stdin().lock(), MAX_MATERIAL_FILE_BYTES), "stdin".into())
        }
        DataPath::File(path) => {
            let file =
                std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            (read_secret_capped(file, MAX_MATERIAL_FILE_BYTES), path.display().to_string())
        }
    };
    match contents.with_context(|| format!("cannot read the material from {source}"))? {
        Some(contents) if contents.is_empty() => bail!("{source} holds no material"),
        Some(contents) => Ok(contents),
        None => bail!("{source} holds over {MAX_MATERIAL_FILE_BYTES} bytes: not key material"),
    }
}

/// All of `reader` if it holds at most `limit` bytes, `None` if more. The buffer is allocated
/// once at its full size, so no reallocation leaves an unzeroized copy of the secret behind.
fn read_secret_capped(mut reader: impl Read, limit: usize) -> std::io::Result<Option<Zeroizing<Vec<u8>>>> {
    let mut buffer = Zeroizing::new(vec![0u8; limit + 1]);
    let mut len = 0;
    while len < buffer.len() {
        match reader.read(&mut buffer[len..]) {
            Ok(0) => break,
            Ok(read) => len += read,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    if len > limit {
        return Ok(None);
    }
    buffer.truncate(len);
    Ok(Some(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::{Cli, Command, KeysCommand};
    use clap::Parser;
    use trent_client::wire::model::{ImportType, WrappingAlgorithm, WrappingKeySpec};

    fn import_args(extra: &[&str]) -> ImportArgs {
        let mut argv = vec!["trent", "keys", "import", "--key-id", "k", "--material", "key.der"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Keys(KeysCommand::Material(KeyMaterialCommand::Import(args))) => args,
            other => panic!("wrong command: {other:?}"),
        }
    }

    #[test]
    fn import_arguments_become_the_library_request() {
        let import = material_import(import_args(&["--does-not-expire"]));
        assert_eq!(import.key_id, "k");
        assert_eq!(import.wrapping_algorithm, None, "the library picks it from the key spec");
        assert_eq!(import.wrapping_key_spec, WrappingKeySpec::Rsa4096);
        assert_eq!(import.expiration, Expiration::Never);
        assert_eq!((import.import_type, import.key_material_id, import.description), (None, None, None));

        let id = "0f".repeat(32);
        let import = material_import(import_args(&[
            "--valid-to",
            "2027-06-30T00:00:00Z",
            "--wrapping-algorithm",
            "RSA_AES_KEY_WRAP_SHA_1",
            "--wrapping-key-spec",
            "RSA_2048",
            "--import-type",
            "EXISTING_KEY_MATERIAL",
            "--key-material-id",
            &id,
            "--description",
            "hsm export 1",
        ]));
        assert_eq!(import.expiration, Expiration::At(1_814_313_600.0));
        assert_eq!(import.wrapping_algorithm, Some(WrappingAlgorithm::RsaAesKeyWrapSha1));
        assert_eq!(import.wrapping_key_spec, WrappingKeySpec::Rsa2048);
        assert_eq!(import.import_type, Some(ImportType::ExistingKeyMaterial));
        assert_eq!(import.key_material_id.as_deref(), Some(id.as_str()));
        assert_eq!(import.description.as_deref(), Some("hsm export 1"));
    }

    #[test]
    fn material_over_the_cap_or_empty_is_refused() {
        let limit = 16;
        assert_eq!(read_secret_capped(&[7u8; 16][..], limit).unwrap().unwrap().as_slice(), [7u8; 16]);
        assert!(read_secret_capped(&[7u8; 17][..], limit).unwrap().is_none());
        assert_eq!(read_secret_capped(&b""[..], limit).unwrap().unwrap().len(), 0);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("material");
        std::fs::write(&path, vec![1u8; MAX_MATERIAL_FILE_BYTES]).unwrap();
        assert_eq!(read_material(&DataPath::File(path.clone())).unwrap().len(), MAX_MATERIAL_FILE_BYTES);
        std::fs::write(&path, vec![1u8; MAX_MATERIAL_FILE_BYTES + 1]).unwrap();
        let error = read_material(&DataPath::File(path.clone())).unwrap_err().to_string();
        assert!(error.contains("not key material"), "{error}");
        std::fs::write(&path, b"").unwrap();
        assert!(read_material(&DataPath::File(path)).unwrap_err().to_string().contains("holds no material"));
        let missing = read_material(&DataPath::File(dir.path().join("none"))).unwrap_err().to_string();
        assert!(missing.starts_with("cannot open"), "{missing}");
    }
}
