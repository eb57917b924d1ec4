//! The keys the workloads use ([`Keys`]), made through the cluster before the clients start:
//! the ciphertext keys, one group of register keys per slot, one revocation, signing-revocation
//! and access-revocation key per cycle (with the grant or key policy that lets the grantee use
//! it), and the grantee's access key.

use serde_json::{json, Value};
use trent_client::wire::kms::CreateKeyRequest;
use trent_client::{Signing, TrentClient};

use super::cluster::{Cluster, NODES};
use super::workload::{WorkloadPlan, CIPHER_KEYS, GRANTEE, REGISTER_KEYS_PER_SLOT, SIGNING_KEY_SPEC};
use super::HarnessError;

/// The keys each workload uses, made before the clients start.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    /// Ciphertext workload keys (never disabled).
    pub cipher: Vec<String>,
    /// Register keys, one group per register slot.
    pub registers: Vec<Vec<String>>,
    /// Revocation keys, one per cycle.
    pub revocation: Vec<String>,
    /// Signing-revocation keys (ECC_NIST_P256, SIGN_VERIFY), one per cycle.
    pub signing: Vec<String>,
    /// Access-revocation keys, one per cycle, and how the grantee's access to each is revoked.
    pub access: Vec<AccessKey>,
    /// The grantee's credentials and ARN.
    pub grantee: Option<(Signing, String)>,
}

/// A key the grantee may use until the revoker takes the right away.
#[derive(Debug, Clone)]
pub struct AccessKey {
    /// The key id.
    pub key: String,
    /// How the grantee's access is revoked.
    pub revocation: AccessRevocation,
}

/// How an access-revocation key's use is revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessRevocation {
    /// RevokeGrant of this grant.
    Grant(String),
    /// PutKeyPolicy with a policy that names only the account.
    Policy,
}

/// A key policy that lets the account's identity policies decide (the grantee has none), and
/// `grantee` Encrypt, when given.
pub fn access_policy(account_root: &str, grantee: Option<&str>) -> String {
    let mut statements = vec![
        json!({"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": account_root}, "Action": "kms:*", "Resource": "*"}),
    ];
    if let Some(grantee) = grantee {
        statements.push(json!({"Sid": "Grantee", "Effect": "Allow", "Principal": {"AWS": grantee}, "Action": "kms:Encrypt", "Resource": "*"}));
    }
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

impl Keys {
    /// Every register key.
    pub fn register_keys(&self) -> impl Iterator<Item = &String> {
        self.registers.iter().flatten()
    }

    /// Creates the keys `plan` needs, through every node in turn, retrying.
    pub async fn create(cluster: &Cluster, plan: &WorkloadPlan) -> Result<Keys, HarnessError> {
        let clients: Vec<TrentClient> =
            (1..=NODES).map(|id| cluster.patient_client(id)).collect::<Result<_, _>>()?;
        let mut made = 0usize;
        let mut create = |purpose: &str, signing: bool| {
            made += 1;
            let client = clients[made % clients.len()].clone();
            let description = format!("jepsen {purpose}");
            async move {
                let mut request =
                    CreateKeyRequest { description: Some(description), ..CreateKeyRequest::default() };
                if signing {
                    request.key_spec = Some(SIGNING_KEY_SPEC.to_owned());
                    request.key_usage = Some("SIGN_VERIFY".to_owned());
                }
                let answer = client
                    .create_key(&request)
                    .await
                    .map_err(|error| HarnessError::client("creating a workload key", error))?;
                Ok::<_, HarnessError>(answer.key_metadata.key_id)
            }
        };
        let mut keys = Keys::default();
        for _ in 0..CIPHER_KEYS {
            keys.cipher.push(create("ciphertexts", false).await?);
        }
        for _ in 0..plan.slots(plan.register_slot) {
            let mut group = Vec::with_capacity(REGISTER_KEYS_PER_SLOT);
            for _ in 0..REGISTER_KEYS_PER_SLOT {
                group.push(create("register", false).await?);
            }
            keys.registers.push(group);
        }
        for _ in 0..plan.slots(plan.revocation_cycle) {
            keys.revocation.push(create("revocation", false).await?);
            keys.signing.push(create("signing revocation", true).await?);
        }
        let admin = &clients[0];
        let setup = |what: &'static str| move |error| HarnessError::client(what, error);
        let user = admin.create_user(GRANTEE, None).await.map_err(setup("creating the grantee"))?;
        let access_key = admin
            .create_user_access_key("jepsen grantee", Some(GRANTEE))
            .await
            .map_err(setup("creating the grantee's access key"))?;
        let root = user.arn.split(":user/").next().map(|prefix| format!("{prefix}:root")).unwrap_or_default();
        for cycle in 0..plan.slots(plan.revocation_cycle) {
            let key = create("access revocation", false).await?;
            let client = &clients[cycle % clients.len()];
            let revocation = if cycle % 2 == 0 {
                let grant = json!({"KeyId": key, "GranteePrincipal": user.arn, "Operations": ["Encrypt"]});
                let answer: Value =
                    client.call("CreateGrant", &grant).await.map_err(setup("creating a grant"))?;
                let grant_id = answer.get("GrantId").and_then(Value::as_str).unwrap_or_default().to_owned();
                AccessRevocation::Grant(grant_id)
            } else {
                let policy = json!({"KeyId": key, "Policy": access_policy(&root, Some(&user.arn))});
                let _: Value =
                    client.call("PutKeyPolicy", &policy).await.map_err(setup("putting a key policy"))?;
                AccessRevocation::Policy
            };
            keys.access.push(AccessKey { key, revocation });
        }
        let signing = Signing::new(access_key.access_key_id, access_key.secret_access_key, "us-east-1");
        keys.grantee = Some((signing, root));
        Ok(keys)
    }

    /// The access-revocation key with id `key`.
    pub fn access_key(&self, key: &str) -> Option<&AccessKey> {
        self.access.iter().find(|access| access.key == key)
    }
}
