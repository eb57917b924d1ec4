//! Every call Trent serves, typed: the one list that names each KMS operation and admin call,
//! says whether it reads or writes and what kind of resource it acts on. It is the single
//! source of the names used for dispatch, for key-usage errors, for authorization actions
//! (`kms:Encrypt`, `iam:CreateAccessKey`, `trent:Seal`), for audit event names and for metric
//! labels.

use std::fmt;

use crate::kms::TARGET_PREFIX;
use crate::model::{KeySpec, KeyUsage};

/// Which protocol a call comes in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// The AWS KMS JSON 1.1 protocol: `POST /`, `X-Amz-Target: TrentService.<Name>`.
    Kms,
    /// The admin API under `/v1/sys/`.
    Admin,
}

/// Whether a call changes state (CloudTrail's `readOnly` is the opposite).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Reads state, or uses a key without changing it (crypto operations).
    Read,
    /// Changes replicated state.
    Write,
}

/// What a call acts on, for authorization and audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// One KMS key (named by key id, ARN or alias).
    Key,
    /// An alias and the key it points to.
    Alias,
    /// An access key.
    AccessKey,
    /// A user.
    User,
    /// The cluster itself (seal, keyring, membership).
    Cluster,
    /// Nothing in particular (`*`): listing, creating, random bytes.
    None,
}

macro_rules! operations {
    ($($variant:ident => $service:ident, $name:literal, $action:literal, $access:ident, $resource:ident;)+) => {
        /// One KMS operation or admin call.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation {
            $(
                #[doc = concat!("`", $action, "`.")]
                $variant,
            )+
        }

        impl Operation {
            /// Every operation, in declaration order.
            pub const ALL: &'static [Operation] = &[$(Operation::$variant),+];

            /// Its name as AWS (or, for Trent's own calls, Trent) spells it: the `X-Amz-Target`
            /// suffix of a KMS operation, the audit event name.
            pub fn name(self) -> &'static str {
                match self { $(Operation::$variant => $name),+ }
            }

            /// The authorization action, `service:Name` as IAM spells it.
            pub fn action(self) -> &'static str {
                match self { $(Operation::$variant => $action),+ }
            }

            /// The protocol it comes in on.
            pub fn service(self) -> Service {
                match self { $(Operation::$variant => Service::$service),+ }
            }

            /// Whether it changes state.
            pub fn access(self) -> Access {
                match self { $(Operation::$variant => Access::$access),+ }
            }

            /// What it acts on.
            pub fn resource(self) -> ResourceKind {
                match self { $(Operation::$variant => ResourceKind::$resource),+ }
            }
        }
    };
}

operations! {
    CreateKey => Kms, "CreateKey", "kms:CreateKey", Write, None;
    DescribeKey => Kms, "DescribeKey", "kms:DescribeKey", Read, Key;
    ListKeys => Kms, "ListKeys", "kms:ListKeys", Read, None;
    EnableKey => Kms, "EnableKey", "kms:EnableKey", Write, Key;
    DisableKey => Kms, "DisableKey", "kms:DisableKey", Write, Key;
    UpdateKeyDescription => Kms, "UpdateKeyDescription", "kms:UpdateKeyDescription", Write, Key;
    ScheduleKeyDeletion => Kms, "ScheduleKeyDeletion", "kms:ScheduleKeyDeletion", Write, Key;
    CancelKeyDeletion => Kms, "CancelKeyDeletion", "kms:CancelKeyDeletion", Write, Key;
    CreateAlias => Kms, "CreateAlias", "kms:CreateAlias", Write, Alias;
    UpdateAlias => Kms, "UpdateAlias", "kms:UpdateAlias", Write, Alias;
    DeleteAlias => Kms, "DeleteAlias", "kms:DeleteAlias", Write, Alias;
    ListAliases => Kms, "ListAliases", "kms:ListAliases", Read, None;
    TagResource => Kms, "TagResource", "kms:TagResource", Write, Key;
    UntagResource => Kms, "UntagResource", "kms:UntagResource", Write, Key;
    ListResourceTags => Kms, "ListResourceTags", "kms:ListResourceTags", Read, Key;
    Encrypt => Kms, "Encrypt", "kms:Encrypt", Read, Key;
    Decrypt => Kms, "Decrypt", "kms:Decrypt", Read, Key;
    ReEncrypt => Kms, "ReEncrypt", "kms:ReEncrypt", Read, Key;
    GenerateDataKey => Kms, "GenerateDataKey", "kms:GenerateDataKey", Read, Key;
    GenerateDataKeyWithoutPlaintext => Kms, "GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyWithoutPlaintext", Read, Key;
    GenerateRandom => Kms, "GenerateRandom", "kms:GenerateRandom", Read, None;
    PutKeyPolicy => Kms, "PutKeyPolicy", "kms:PutKeyPolicy", Write, Key;
    GetKeyPolicy => Kms, "GetKeyPolicy", "kms:GetKeyPolicy", Read, Key;
    ListKeyPolicies => Kms, "ListKeyPolicies", "kms:ListKeyPolicies", Read, Key;
    CreateGrant => Kms, "CreateGrant", "kms:CreateGrant", Write, Key;
    ListGrants => Kms, "ListGrants", "kms:ListGrants", Read, Key;
    ListRetirableGrants => Kms, "ListRetirableGrants", "kms:ListRetirableGrants", Read, None;
    RetireGrant => Kms, "RetireGrant", "kms:RetireGrant", Write, Key;
    RevokeGrant => Kms, "RevokeGrant", "kms:RevokeGrant", Write, Key;
    Sign => Kms, "Sign", "kms:Sign", Read, Key;
    Verify => Kms, "Verify", "kms:Verify", Read, Key;
    GetPublicKey => Kms, "GetPublicKey", "kms:GetPublicKey", Read, Key;
    GenerateMac => Kms, "GenerateMac", "kms:GenerateMac", Read, Key;
    VerifyMac => Kms, "VerifyMac", "kms:VerifyMac", Read, Key;
    DeriveSharedSecret => Kms, "DeriveSharedSecret", "kms:DeriveSharedSecret", Read, Key;
    Encapsulate => Kms, "Encapsulate", "kms:Encapsulate", Read, Key;
    Decapsulate => Kms, "Decapsulate", "kms:Decapsulate", Read, Key;
    GenerateDataKeyPair => Kms, "GenerateDataKeyPair", "kms:GenerateDataKeyPair", Read, Key;
    GenerateDataKeyPairWithoutPlaintext => Kms, "GenerateDataKeyPairWithoutPlaintext", "kms:GenerateDataKeyPairWithoutPlaintext", Read, Key;
    EnableKeyRotation => Kms, "EnableKeyRotation", "kms:EnableKeyRotation", Write, Key;
    DisableKeyRotation => Kms, "DisableKeyRotation", "kms:DisableKeyRotation", Write, Key;
    GetKeyRotationStatus => Kms, "GetKeyRotationStatus", "kms:GetKeyRotationStatus", Read, Key;
    RotateKeyOnDemand => Kms, "RotateKeyOnDemand", "kms:RotateKeyOnDemand", Write, Key;
    ListKeyRotations => Kms, "ListKeyRotations", "kms:ListKeyRotations", Read, Key;
    GetKeyLastUsage => Kms, "GetKeyLastUsage", "kms:GetKeyLastUsage", Read, Key;
    GetParametersForImport => Kms, "GetParametersForImport", "kms:GetParametersForImport", Write, Key;
    ImportKeyMaterial => Kms, "ImportKeyMaterial", "kms:ImportKeyMaterial", Write, Key;
    DeleteImportedKeyMaterial => Kms, "DeleteImportedKeyMaterial", "kms:DeleteImportedKeyMaterial", Write, Key;
    Health => Admin, "Health", "trent:Health", Read, Cluster;
    SealStatus => Admin, "SealStatus", "trent:SealStatus", Read, Cluster;
    Initialize => Admin, "Initialize", "trent:Initialize", Write, Cluster;
    Unseal => Admin, "Unseal", "trent:Unseal", Write, Cluster;
    Seal => Admin, "Seal", "trent:Seal", Write, Cluster;
    DescribeCluster => Admin, "DescribeCluster", "trent:DescribeCluster", Read, Cluster;
    CreateAccessKey => Admin, "CreateAccessKey", "iam:CreateAccessKey", Write, AccessKey;
    ListAccessKeys => Admin, "ListAccessKeys", "iam:ListAccessKeys", Read, AccessKey;
    DeleteAccessKey => Admin, "DeleteAccessKey", "iam:DeleteAccessKey", Write, AccessKey;
    Rekey => Admin, "Rekey", "trent:Rekey", Write, Cluster;
    RotateKeyring => Admin, "RotateKeyring", "trent:RotateKeyring", Write, Cluster;
    AddMember => Admin, "AddMember", "trent:ManageMembers", Write, Cluster;
    PromoteMember => Admin, "PromoteMember", "trent:ManageMembers", Write, Cluster;
    RemoveMember => Admin, "RemoveMember", "trent:ManageMembers", Write, Cluster;
    CreateUser => Admin, "CreateUser", "iam:CreateUser", Write, User;
    ListUsers => Admin, "ListUsers", "iam:ListUsers", Read, User;
    GetUser => Admin, "GetUser", "iam:GetUser", Read, User;
    DeleteUser => Admin, "DeleteUser", "iam:DeleteUser", Write, User;
    PutUserPolicy => Admin, "PutUserPolicy", "iam:PutUserPolicy", Write, User;
    GetUserPolicy => Admin, "GetUserPolicy", "iam:GetUserPolicy", Read, User;
    DeleteUserPolicy => Admin, "DeleteUserPolicy", "iam:DeleteUserPolicy", Write, User;
    ExplainAuthorization => Admin, "ExplainAuthorization", "iam:SimulatePrincipalPolicy", Read, None;
    ReadAudit => Admin, "ReadAudit", "trent:ReadAudit", Read, Cluster;
    GetAuditPublicKey => Admin, "GetAuditPublicKey", "trent:GetAuditPublicKey", Read, Cluster;
}

impl Operation {
    /// The KMS operation an `X-Amz-Target` names (`TrentService.Encrypt`).
    pub fn from_target(target: &str) -> Option<Operation> {
        let name = target.strip_prefix(TARGET_PREFIX)?;
        Operation::ALL
            .iter()
            .copied()
            .find(|operation| operation.service() == Service::Kms && operation.name() == name)
    }

    /// Whether it is served without a signature: health, seal status, init and unseal, which
    /// must work before any credential exists or while none can be checked, and the audit
    /// trail's public key, which an offline verifier fetches.
    pub fn is_unsigned(self) -> bool {
        matches!(
            self,
            Operation::Health
                | Operation::SealStatus
                | Operation::Initialize
                | Operation::Unseal
                | Operation::GetAuditPublicKey
        )
    }

    /// Whether a successful call of it is a use of its key that `GetKeyLastUsage` reports
    /// (AWS's `KeyLastUsageTrackingOperation`): the operations that use key material, but not
    /// GetPublicKey.
    pub fn is_usage_tracked(self) -> bool {
        use Operation::*;
        matches!(
            self,
            Decrypt
                | DeriveSharedSecret
                | Encrypt
                | GenerateDataKey
                | GenerateDataKeyPair
                | GenerateDataKeyPairWithoutPlaintext
                | GenerateDataKeyWithoutPlaintext
                | GenerateMac
                | ReEncrypt
                | Sign
                | Verify
                | VerifyMac
                | Encapsulate
                | Decapsulate
        )
    }

    /// Whether a key of `spec` and `usage` can perform it: the one table of what each kind of
    /// key is for. Operations that do not use a key's material are not in it.
    pub fn allowed_for(self, spec: KeySpec, usage: KeyUsage) -> bool {
        use Operation::*;
        match (spec, usage) {
            (KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt) => matches!(
                self,
                Encrypt
                    | Decrypt
                    | ReEncrypt
                    | GenerateDataKey
                    | GenerateDataKeyWithoutPlaintext
                    | GenerateDataKeyPair
                    | GenerateDataKeyPairWithoutPlaintext
            ),
            (_, KeyUsage::EncryptDecrypt) => matches!(self, Encrypt | Decrypt | ReEncrypt | GetPublicKey),
            (_, KeyUsage::SignVerify) => matches!(self, Sign | Verify | GetPublicKey),
            (_, KeyUsage::GenerateVerifyMac) => matches!(self, GenerateMac | VerifyMac),
            (_, KeyUsage::KeyAgreement) => matches!(self, DeriveSharedSecret | GetPublicKey),
            (_, KeyUsage::EncapsulateDecapsulate) => matches!(self, Encapsulate | Decapsulate | GetPublicKey),
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_actions_are_unique_and_agree() {
        let mut names = std::collections::HashSet::new();
        for operation in Operation::ALL {
            assert!(names.insert(operation.name()), "{operation} twice");
            let (service, name) = operation.action().split_once(':').unwrap_or_default();
            assert!(matches!(service, "kms" | "iam" | "trent"), "{operation}");
            if operation.service() == Service::Kms {
                assert_eq!((service, name), ("kms", operation.name()));
                assert_eq!(Operation::from_target(&format!("TrentService.{name}")), Some(*operation));
            } else {
                assert_eq!(Operation::from_target(&format!("TrentService.{}", operation.name())), None);
            }
        }
        assert_eq!(Operation::from_target("TrentService.Nope"), None);
        assert_eq!(Operation::from_target("Encrypt"), None);
    }

    #[test]
    fn rotation_and_import_operations_act_on_a_key_and_only_their_reads_are_reads() {
        use Operation::*;
        let operations = [
            EnableKeyRotation,
            DisableKeyRotation,
            GetKeyRotationStatus,
            RotateKeyOnDemand,
            ListKeyRotations,
            GetParametersForImport,
            ImportKeyMaterial,
            DeleteImportedKeyMaterial,
        ];
        for operation in operations {
            assert_eq!(
                (operation.service(), operation.resource()),
                (Service::Kms, ResourceKind::Key),
                "{operation}"
            );
            let read = matches!(operation, GetKeyRotationStatus | ListKeyRotations);
            assert_eq!(operation.access(), if read { Access::Read } else { Access::Write }, "{operation}");
            assert!(KeySpec::ALL.iter().all(|spec| !operation.allowed_for(*spec, spec.default_usage())));
        }
    }

    #[test]
    fn usage_is_tracked_for_the_fourteen_operations_aws_tracks_and_key_last_usage_is_a_key_read() {
        let tracked: Vec<_> =
            Operation::ALL.iter().filter(|operation| operation.is_usage_tracked()).collect();
        assert_eq!(tracked.len(), 14, "{tracked:?}");
        for operation in tracked {
            assert_eq!(
                (operation.service(), operation.access()),
                (Service::Kms, Access::Read),
                "{operation}"
            );
            let usable = KeySpec::ALL
                .iter()
                .any(|spec| spec.allowed_usages().iter().any(|usage| operation.allowed_for(*spec, *usage)));
            assert!(usable, "{operation} uses a key's material");
        }
        assert!(!Operation::GetPublicKey.is_usage_tracked() && !Operation::GenerateRandom.is_usage_tracked());
        let last_usage = Operation::GetKeyLastUsage;
        assert_eq!(
            (last_usage.access(), last_usage.resource(), last_usage.action()),
            (Access::Read, ResourceKind::Key, "kms:GetKeyLastUsage")
        );
        assert!(!last_usage.is_usage_tracked());
        assert!(KeySpec::ALL.iter().all(|spec| !last_usage.allowed_for(*spec, spec.default_usage())));
    }

    #[test]
    fn symmetric_keys_do_symmetric_crypto_only() {
        let symmetric =
            |operation: Operation| operation.allowed_for(KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt);
        assert!(symmetric(Operation::Encrypt) && symmetric(Operation::ReEncrypt));
        assert!(!symmetric(Operation::DescribeKey) && !symmetric(Operation::GenerateRandom));
        assert!(!Operation::Encrypt.allowed_for(KeySpec::Hmac256, KeyUsage::GenerateVerifyMac));
        assert!(!symmetric(Operation::Sign) && !symmetric(Operation::GetPublicKey));
        assert!(symmetric(Operation::GenerateDataKeyPair));
    }

    #[test]
    fn each_usage_allows_its_own_operations() {
        use Operation::*;
        let rsa_sign = |operation: Operation| operation.allowed_for(KeySpec::Rsa2048, KeyUsage::SignVerify);
        assert!(rsa_sign(Sign) && rsa_sign(Verify) && rsa_sign(GetPublicKey) && !rsa_sign(Encrypt));
        let rsa_encrypt =
            |operation: Operation| operation.allowed_for(KeySpec::Rsa2048, KeyUsage::EncryptDecrypt);
        assert!(
            rsa_encrypt(Encrypt)
                && rsa_encrypt(Decrypt)
                && !rsa_encrypt(GenerateDataKey)
                && !rsa_encrypt(Sign)
        );
        assert!(!rsa_encrypt(GenerateDataKeyPair), "a data key pair is wrapped under a symmetric key");
        let hmac =
            |operation: Operation| operation.allowed_for(KeySpec::Hmac256, KeyUsage::GenerateVerifyMac);
        assert!(hmac(GenerateMac) && hmac(VerifyMac) && !hmac(GetPublicKey));
        let ecdh = |operation: Operation| operation.allowed_for(KeySpec::EccNistP256, KeyUsage::KeyAgreement);
        assert!(ecdh(DeriveSharedSecret) && ecdh(GetPublicKey) && !ecdh(Sign));
        let kem =
            |operation: Operation| operation.allowed_for(KeySpec::MlKem768, KeyUsage::EncapsulateDecapsulate);
        assert!(kem(Encapsulate) && kem(Decapsulate) && !kem(Encrypt));
    }
}
