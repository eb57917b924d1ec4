//! Wire types shared by the Trent node and its clients.
//!
//! This crate is the single definition of what crosses the network: the AWS KMS JSON 1.1 request
//! and response shapes (`kms`), AWS-style error codes and bodies (`error`), the admin API bodies
//! under `/v1/sys/` (`admin`), and the domain enums both sides name (`model`). It does no I/O.

pub mod admin;
pub mod error;
pub mod kms;
pub mod limits;
pub mod model;
pub mod validation;

pub use error::{ErrorBody, ErrorCode, KmsError};
