//! Wire types shared by the Trent node and its clients.
//!
//! This crate is the single definition of what crosses the network: the AWS KMS JSON 1.1 request
//! and response shapes of the management plane (`kms`) and of the data plane (`data_plane`, with
//! binary fields as `Blob`; `asymmetric` for signing, MAC, key agreement, KEM and data key
//! pair shapes; `rotation` and `import` for key rotation and bring-your-own-key import),
//! AWS-style error codes and bodies (`error`), the admin API bodies
//! under `/v1/sys/` (`admin`), the domain enums both sides name (`model`), and every call typed
//! (`operation`). It does no I/O.

pub mod access;
pub mod admin;
pub mod asymmetric;
pub mod blob;
pub mod data_plane;
pub mod error;
pub mod import;
pub mod kms;
pub mod limits;
pub mod model;
pub mod operation;
pub mod rotation;
pub mod validation;

pub use blob::Blob;
pub use error::{ErrorBody, ErrorCode, KmsError};
pub use operation::{Access, Operation};
