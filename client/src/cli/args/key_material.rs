//! `trent keys rotation|rotate|rotations|import|delete-imported-material`: a key's material,
//! rotated automatically or on demand, listed, imported (bring your own key) and deleted.
//! Enum options take AWS's names, which `--help` lists.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};
use trent_client::wire::limits::{MAX_ROTATION_PERIOD_DAYS, MIN_ROTATION_PERIOD_DAYS};
use trent_client::wire::model::{ImportType, WrappingAlgorithm, WrappingKeySpec};
use trent_client::wire::validation::{check_key_material_description, check_key_material_id};

use super::values::{parse_data_path, DataPath};

/// The key-material commands of `trent keys`.
#[derive(Debug, Subcommand)]
pub enum KeyMaterialCommand {
    /// Turn automatic rotation of a symmetric key on or off, or show it.
    #[command(subcommand)]
    Rotation(RotationCommand),
    /// Rotate a key now (RotateKeyOnDemand): new ciphertexts use new material, old ones still
    /// decrypt.
    Rotate(KeyIdArgs),
    /// List a key's rotations, oldest first (follows pagination to the end).
    Rotations(RotationsArgs),
    /// Import key material into an EXTERNAL key: asks for a wrapping key, wraps the material
    /// here, and imports it. The material never leaves this machine unwrapped.
    Import(ImportArgs),
    /// Delete a key's imported material (the key waits for an import again).
    DeleteImportedMaterial(DeleteImportedMaterialArgs),
}

/// `trent keys rotation ...`
#[derive(Debug, Subcommand)]
pub enum RotationCommand {
    /// Rotate the key automatically every `--days` days.
    Enable(EnableRotationArgs),
    /// Stop rotating the key automatically.
    Disable(KeyIdArgs),
    /// Whether the key rotates automatically, how often, and when next.
    Status(KeyIdArgs),
}

/// The one key a command acts on.
#[derive(Debug, Args)]
pub struct KeyIdArgs {
    /// Key id or key ARN.
    #[arg(long)]
    pub key_id: String,
}

/// `trent keys rotation enable` options.
#[derive(Debug, Args)]
pub struct EnableRotationArgs {
    /// Key id or key ARN.
    #[arg(long)]
    pub key_id: String,
    /// Days between rotations, 90–2560 (server default 365).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(i64).range(MIN_ROTATION_PERIOD_DAYS..=MAX_ROTATION_PERIOD_DAYS))]
    pub days: Option<i64>,
}

/// `trent keys rotations` options.
#[derive(Debug, Args)]
pub struct RotationsArgs {
    /// Key id or key ARN.
    #[arg(long)]
    pub key_id: String,
    /// List every material (the first, and imported material not yet rotated in), not only
    /// the rotations (ALL_KEY_MATERIAL).
    #[arg(long)]
    pub include_key_material: bool,
}

/// A parser of the AWS names of `values`, which clap lists in `--help`, into the wire enum.
fn aws_enum<T: Copy + Send + Sync + 'static>(
    values: impl IntoIterator<Item = T>,
    name: fn(T) -> &'static str,
    parse: fn(&str) -> Option<T>,
) -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(values.into_iter().map(name))
        .try_map(move |text: String| parse(&text).ok_or("not one of the possible values"))
}

/// The wrapping algorithms Trent offers: AWS's, without PKCS#1 v1.5 (withdrawn by AWS) and SM2.
fn wrapping_algorithms() -> impl TypedValueParser<Value = WrappingAlgorithm> {
    let offered = WrappingAlgorithm::ALL.iter().copied().filter(|algorithm| {
        !matches!(algorithm, WrappingAlgorithm::RsaesPkcs1V15 | WrappingAlgorithm::Sm2Pke)
    });
    aws_enum(offered, WrappingAlgorithm::as_str, WrappingAlgorithm::parse)
}

/// The RSA wrapping key sizes (SM2 exists in China regions only).
fn wrapping_key_specs() -> impl TypedValueParser<Value = WrappingKeySpec> {
    let offered = WrappingKeySpec::ALL.iter().copied().filter(|spec| *spec != WrappingKeySpec::Sm2);
    aws_enum(offered, WrappingKeySpec::as_str, WrappingKeySpec::parse)
}

fn import_types() -> impl TypedValueParser<Value = ImportType> {
    aws_enum(ImportType::ALL.iter().copied(), ImportType::as_str, ImportType::parse)
}

/// `trent keys import` options.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("expiry").required(true).args(["valid_to", "does_not_expire"]))]
pub struct ImportArgs {
    /// The EXTERNAL key: key id, key ARN, alias name or alias ARN.
    #[arg(long)]
    pub key_id: String,
    /// The material: a file, or `-` for stdin. Raw bytes for symmetric (32 bytes) and HMAC
    /// keys; PKCS#8 DER or PEM (`PRIVATE KEY`) for RSA, ECC and ML-DSA keys.
    #[arg(long, value_name = "FILE|-", value_parser = parse_data_path)]
    pub material: DataPath,
    /// How to wrap it (default RSA_AES_KEY_WRAP_SHA_256 for asymmetric keys,
    /// RSAES_OAEP_SHA_256 for symmetric and HMAC keys).
    #[arg(long, value_parser = wrapping_algorithms())]
    pub wrapping_algorithm: Option<WrappingAlgorithm>,
    /// The RSA wrapping key to ask for.
    #[arg(long, value_parser = wrapping_key_specs(), default_value = "RSA_4096")]
    pub wrapping_key_spec: WrappingKeySpec,
    /// When the material expires, RFC 3339 (e.g. 2027-06-30T00:00:00Z), at most 365 days ahead.
    #[arg(long, value_name = "TIME", value_parser = parse_rfc3339)]
    pub valid_to: Option<f64>,
    /// The material never expires.
    #[arg(long)]
    pub does_not_expire: bool,
    /// New material (for a rotation) or material the key had before; the server's default is
    /// new for a key that never had material, existing after.
    #[arg(long, value_parser = import_types())]
    pub import_type: Option<ImportType>,
    /// The id of the material being reimported, 64 lowercase hex digits (symmetric keys only).
    #[arg(long, value_name = "HEX", value_parser = parse_key_material_id)]
    pub key_material_id: Option<String>,
    /// A description of the material (symmetric keys only).
    #[arg(long, value_name = "TEXT", value_parser = parse_key_material_description)]
    pub description: Option<String>,
}

/// `trent keys delete-imported-material` options.
#[derive(Debug, Args)]
pub struct DeleteImportedMaterialArgs {
    /// Key id or key ARN.
    #[arg(long)]
    pub key_id: String,
    /// The material to delete, 64 lowercase hex digits (default: the current one).
    #[arg(long, value_name = "HEX", value_parser = parse_key_material_id)]
    pub key_material_id: Option<String>,
}

/// An RFC 3339 time as epoch seconds.
fn parse_rfc3339(text: &str) -> Result<f64, String> {
    let moment = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|err| format!("expected an RFC 3339 time such as 2027-06-30T00:00:00Z: {err}"))?;
    Ok(moment.unix_timestamp() as f64)
}

fn parse_key_material_id(text: &str) -> Result<String, String> {
    check_key_material_id(text).map_err(|err| err.message)?;
    Ok(text.to_owned())
}

fn parse_key_material_description(text: &str) -> Result<String, String> {
    check_key_material_description(text).map_err(|err| err.message)?;
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::args::{Cli, Command, KeysCommand};

    fn parse(args: &[&str]) -> Result<KeyMaterialCommand, String> {
        let mut argv = vec!["trent", "keys"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).map_err(|err| err.to_string())?.command {
            Command::Keys(KeysCommand::Material(command)) => Ok(command),
            other => panic!("not a key-material command: {other:?}"),
        }
    }

    #[test]
    fn rotation_commands_parse() {
        let Ok(KeyMaterialCommand::Rotation(RotationCommand::Enable(args))) =
            parse(&["rotation", "enable", "--key-id", "k", "--days", "90"])
        else {
            panic!("rotation enable");
        };
        assert_eq!((args.key_id.as_str(), args.days), ("k", Some(90)));
        let Ok(KeyMaterialCommand::Rotation(RotationCommand::Enable(args))) =
            parse(&["rotation", "enable", "--key-id", "k"])
        else {
            panic!("rotation enable without days");
        };
        assert_eq!(args.days, None);
        for days in ["89", "2561", "x"] {
            assert!(parse(&["rotation", "enable", "--key-id", "k", "--days", days]).is_err(), "{days}");
        }
        assert!(matches!(
            parse(&["rotation", "disable", "--key-id", "k"]),
            Ok(KeyMaterialCommand::Rotation(RotationCommand::Disable(KeyIdArgs { .. })))
        ));
        assert!(matches!(
            parse(&["rotation", "status", "--key-id", "k"]),
            Ok(KeyMaterialCommand::Rotation(RotationCommand::Status(_)))
        ));
        assert!(parse(&["rotation", "status"]).is_err(), "--key-id is required");
        let Ok(KeyMaterialCommand::Rotate(args)) = parse(&["rotate", "--key-id", "k"]) else {
            panic!("rotate");
        };
        assert_eq!(args.key_id, "k");
        let Ok(KeyMaterialCommand::Rotations(args)) = parse(&["rotations", "--key-id", "k"]) else {
            panic!("rotations");
        };
        assert!(!args.include_key_material);
        let Ok(KeyMaterialCommand::Rotations(args)) =
            parse(&["rotations", "--key-id", "k", "--include-key-material"])
        else {
            panic!("rotations --include-key-material");
        };
        assert!(args.include_key_material);
    }

    #[test]
    fn import_needs_one_expiry_and_takes_aws_names_only() {
        let import = |extra: &[&str]| {
            let mut args = vec!["import", "--key-id", "k", "--material", "-"];
            args.extend_from_slice(extra);
            parse(&args)
        };
        let Ok(KeyMaterialCommand::Import(args)) = import(&["--does-not-expire"]) else {
            panic!("import");
        };
        assert_eq!(args.material, DataPath::Standard);
        assert_eq!(args.wrapping_key_spec, WrappingKeySpec::Rsa4096, "the default wrapping key");
        assert!(import(&[]).is_err(), "an expiry is required");
        assert!(import(&["--does-not-expire", "--valid-to", "2027-01-01T00:00:00Z"]).is_err(), "not both");
        assert!(import(&["--valid-to", "next week"]).unwrap_err().contains("RFC 3339"));
        let Ok(KeyMaterialCommand::Import(args)) = import(&["--valid-to", "2027-01-01T01:00:00+01:00"])
        else {
            panic!("import --valid-to");
        };
        assert_eq!(args.valid_to, Some(1_798_761_600.0));
        for offered in
            ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"]
        {
            let Ok(KeyMaterialCommand::Import(args)) =
                import(&["--does-not-expire", "--wrapping-algorithm", offered])
            else {
                panic!("{offered}");
            };
            assert_eq!(args.wrapping_algorithm.map(WrappingAlgorithm::as_str), Some(offered));
        }
        for refused in [
            &["--wrapping-algorithm", "RSAES_PKCS1_V1_5"][..],
            &["--wrapping-algorithm", "SM2PKE"],
            &["--wrapping-key-spec", "SM2"],
            &["--wrapping-key-spec", "RSA_1024"],
            &["--import-type", "NEW"],
            &["--key-material-id", "AB"],
            &["--description", "a;b"],
        ] {
            let mut extra = vec!["--does-not-expire"];
            extra.extend_from_slice(refused);
            assert!(import(&extra).is_err(), "{refused:?}");
        }
        let Ok(KeyMaterialCommand::Import(args)) = import(&[
            "--does-not-expire",
            "--import-type",
            "NEW_KEY_MATERIAL",
            "--wrapping-key-spec",
            "RSA_3072",
        ]) else {
            panic!("import --import-type");
        };
        assert_eq!(args.import_type, Some(ImportType::NewKeyMaterial));
        assert_eq!(args.wrapping_key_spec, WrappingKeySpec::Rsa3072);
        assert!(parse(&["import", "--key-id", "k", "--does-not-expire"]).is_err(), "--material is required");
    }

    #[test]
    fn delete_imported_material_takes_an_optional_material_id() {
        let Ok(KeyMaterialCommand::DeleteImportedMaterial(args)) =
            parse(&["delete-imported-material", "--key-id", "k"])
        else {
            panic!("delete-imported-material");
        };
        assert_eq!((args.key_id.as_str(), args.key_material_id), ("k", None));
        let id = "0a".repeat(32);
        let Ok(KeyMaterialCommand::DeleteImportedMaterial(args)) =
            parse(&["delete-imported-material", "--key-id", "k", "--key-material-id", &id])
        else {
            panic!("delete-imported-material --key-material-id");
        };
        assert_eq!(args.key_material_id, Some(id));
        assert!(parse(&["delete-imported-material", "--key-id", "k", "--key-material-id", "0a"]).is_err());
    }
}
